# `git osa ...` in fish: hand the words to git-osa's completions (git-osa.fish).
complete -c git -n __fish_git_needs_command -f -a osa -d 'Run an OpenStack service from this checkout in its OSA container'
complete -c git -n '__fish_git_using_command osa' -f -a '(__fish_git_osa_as_git_osa)'

function __fish_git_osa_as_git_osa
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_git_global_optspecs) -- $cmd 2>/dev/null
    or return
    complete -C "git-osa $argv[2..] "(commandline -ct)
end
