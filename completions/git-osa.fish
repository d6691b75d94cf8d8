# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_git_osa_global_optspecs
    string join \n container= service= n/dry-run json allow-public-index= restore-on-exit no-restore-on-exit detach db-snapshot no-db-snapshot force with= no-haproxy debug= debugpy= hot-patch conf= inventory= lxc-path= deploy-host= haproxy-socket= config= v/verbose q/quiet color= h/help V/version
end

function __fish_git_osa_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_git_osa_global_optspecs) -- $cmd 2>/dev/null
    or begin
        # An option waiting for its value (`git-osa --container <TAB>`) fails argparse.
        set -e cmd[-1]
        argparse -s (__fish_git_osa_global_optspecs) -- $cmd 2>/dev/null
    end
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_git_osa_using_subcommand
    set -l cmd (__fish_git_osa_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c git-osa -n "__fish_git_osa_needs_command" -l container -d 'The container to use when the service has several (see `git osa status`); git config osa.container' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_needs_command" -l service -d 'Only swap this unit of the project (repeatable, or comma-separated), e.g. `--service heat-engine`; git config osa.service (multi-valued)' -r -f -a "(__fish_git_osa_names units)"
complete -c git-osa -n "__fish_git_osa_needs_command" -l allow-public-index -d 'Let pip use this index for requirements the deployment\'s repo server lacks' -r
complete -c git-osa -n "__fish_git_osa_needs_command" -l with -d 'Install this checkout too, editable, into the service\'s venv before the service itself (repeatable): a library such as oslo.db or keystonemiddleware, tried inside the running service. It stays in the venv until `git osa restore`' -r -F
complete -c git-osa -n "__fish_git_osa_needs_command" -l debug -d 'Debug the dev process at this terminal: `breakpoint()` in the code stops there, in pdb (the default) or pudb (`--debug=pudb`: installed into the venv for the session, as PYTHONBREAKPOINT). A uWSGI unit then runs one worker with the terminal as its stdin and no harakiri, so a breakpoint in a request handler stops at the terminal (HAProxy\'s health checks and other clients wait meanwhile); a console script (heat-engine) has the terminal already, and pdb opens it as /dev/tty (a worker reads end-of-file from its stdin). The terminal is one: the run must swap one unit (`--service`), in a container on this host' -r -f -a "pdb\t''
pudb\t''"
complete -c git-osa -n "__fish_git_osa_needs_command" -l debugpy -d 'Have the dev process listen for a remote debugger (debugpy, which VS Code and the other DAP clients attach to) on the container\'s loopback at PORT (5678 when not given), and forward PORT on this machine\'s loopback to it while the run lasts, through the same connection as the rest (lxc-attach, or ssh to another host). debugpy is installed into the venv for the session from the deployment\'s package sources (as a missing requirement, another index is offered when they lack it); restore puts production\'s venv back, without it. A uWSGI unit runs one worker without harakiri. The attach configuration (VS Code\'s launch.json, the path mapping from the container\'s copy to your checkout) is printed when the run starts' -r
complete -c git-osa -n "__fish_git_osa_needs_command" -l conf -d 'Start with this development configuration (repeatable), as `git osa conf set FILE SECTION.KEY VALUE` sets it, before the dev units start: e.g. `--conf heat.conf:DEFAULT.debug=True`. Restore puts production\'s back' -r
complete -c git-osa -n "__fish_git_osa_needs_command" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_needs_command" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_needs_command" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_needs_command" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_needs_command" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_needs_command" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_needs_command" -s n -l dry-run -d 'Print the plan (each command, where, as whom) and change nothing (-n as for git-review and git)'
complete -c git-osa -n "__fish_git_osa_needs_command" -l json -d 'Print the plan as JSON instead of text (with --dry-run): a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_needs_command" -l restore-on-exit -d 'Restore production as soon as the dev process stops; git config osa.restoreOnExit'
complete -c git-osa -n "__fish_git_osa_needs_command" -l no-restore-on-exit -d 'Keep the container in dev mode when the dev process stops, whatever osa.restoreOnExit or GIT_OSA_RESTORE_ON_EXIT say'
complete -c git-osa -n "__fish_git_osa_needs_command" -l detach -d 'Run the dev units as systemd services in the container (`git-osa-dev-<unit>`) and return once they serve: `git osa logs -f` follows them, `git osa sync` redeploys, `git osa stop` ends them. git config osa.detach makes it the default'
complete -c git-osa -n "__fish_git_osa_needs_command" -l db-snapshot -d 'Dump the service\'s database into the container before the session\'s first db sync, and note its rows and what each db sync changes, so that `git osa restore` undoes the session\'s migrations before production starts, keeping the rows others write meanwhile (the default of `git osa review`); git config osa.dbSnapshot'
complete -c git-osa -n "__fish_git_osa_needs_command" -l no-db-snapshot -d 'Run the db sync without a snapshot, whatever osa.dbSnapshot, GIT_OSA_DB_SNAPSHOT or `git osa review` say: restore then cannot undo a schema upgrade'
complete -c git-osa -n "__fish_git_osa_needs_command" -l force -d 'Take over a dev session another user started, without asking (a terminal asks)'
complete -c git-osa -n "__fish_git_osa_needs_command" -l no-haproxy -d 'Go on when HAProxy\'s admin socket cannot be reached: traffic is then not moved to the container, and requests reach dev and production alike'
complete -c git-osa -n "__fish_git_osa_needs_command" -l hot-patch -d 'With --detach: a sync whose edits change only the bodies of functions is applied in the running uWSGI workers, each function\'s code replaced in place, with no reload (on the lab, keystone served a save 0.35 s after it, against 0.6 s with the workers\' reload and 2.9 s for the unit\'s restart). Anything else (an import, module-level code, a class, a signature, a new or deleted file, an install, a db sync) reloads the workers as without it, saying why. Units that are not uWSGI restart as usual'
complete -c git-osa -n "__fish_git_osa_needs_command" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_needs_command" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_needs_command" -s V -l version -d 'Print version'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "run" -d 'Swap the checkout into its container and run it in the foreground (the default)'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "status" -d 'Show the project\'s containers, their units, HAProxy servers and dev sessions'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "restore" -d 'Put production back: end the checkout\'s watcher and the dev process, restore the venv, undo the session\'s migrations (with its database snapshot, keeping the rows others wrote), start the units'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "config" -d 'Show the settings in effect and where each comes from'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "review" -d 'Run a Gerrit change in the service\'s container, leaving your own tree as it is'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "doctor" -d 'Check that this host and the project\'s containers have what git-osa needs'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "logs" -d 'Show the output of the detached dev units (`git osa run --detach`) from the journal'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "stop" -d 'End the checkout\'s watcher (`git osa watch`) and the detached dev units; the container stays in dev mode'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "sync" -d 'Send what changed in the checkout to the container in dev mode and run the detached dev units on it'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "watch" -d 'Sync each save of the checkout into the container, until Ctrl-C'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "exec" -d 'Run a command in the service\'s environment, in its container'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "shell" -d 'Open an interactive shell in the service\'s environment, as `git osa exec` runs a command: as the service\'s user, the venv active, in the synced tree'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "test" -d 'Sync the checkout, then run the project\'s unit tests in its container'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "conf" -d 'Change the service\'s configuration for the dev session; restore puts production\'s back'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "rebuild" -d 'Destroy the service\'s container and make it again with the deployment\'s own commands: the article\'s remedy for a container broken during development'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "hooks" -d 'Install, remove or show the git hooks that redeploy on commit'
complete -c git-osa -n "__fish_git_osa_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l container -d 'The container to use when the service has several (see `git osa status`); git config osa.container' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l service -d 'Only swap this unit of the project (repeatable, or comma-separated), e.g. `--service heat-engine`; git config osa.service (multi-valued)' -r -f -a "(__fish_git_osa_names units)"
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l allow-public-index -d 'Let pip use this index for requirements the deployment\'s repo server lacks' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l with -d 'Install this checkout too, editable, into the service\'s venv before the service itself (repeatable): a library such as oslo.db or keystonemiddleware, tried inside the running service. It stays in the venv until `git osa restore`' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l debug -d 'Debug the dev process at this terminal: `breakpoint()` in the code stops there, in pdb (the default) or pudb (`--debug=pudb`: installed into the venv for the session, as PYTHONBREAKPOINT). A uWSGI unit then runs one worker with the terminal as its stdin and no harakiri, so a breakpoint in a request handler stops at the terminal (HAProxy\'s health checks and other clients wait meanwhile); a console script (heat-engine) has the terminal already, and pdb opens it as /dev/tty (a worker reads end-of-file from its stdin). The terminal is one: the run must swap one unit (`--service`), in a container on this host' -r -f -a "pdb\t''
pudb\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l debugpy -d 'Have the dev process listen for a remote debugger (debugpy, which VS Code and the other DAP clients attach to) on the container\'s loopback at PORT (5678 when not given), and forward PORT on this machine\'s loopback to it while the run lasts, through the same connection as the rest (lxc-attach, or ssh to another host). debugpy is installed into the venv for the session from the deployment\'s package sources (as a missing requirement, another index is offered when they lack it); restore puts production\'s venv back, without it. A uWSGI unit runs one worker without harakiri. The attach configuration (VS Code\'s launch.json, the path mapping from the container\'s copy to your checkout) is printed when the run starts' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l conf -d 'Start with this development configuration (repeatable), as `git osa conf set FILE SECTION.KEY VALUE` sets it, before the dev units start: e.g. `--conf heat.conf:DEFAULT.debug=True`. Restore puts production\'s back' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -s n -l dry-run -d 'Print the plan (each command, where, as whom) and change nothing (-n as for git-review and git)'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l json -d 'Print the plan as JSON instead of text (with --dry-run): a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l restore-on-exit -d 'Restore production as soon as the dev process stops; git config osa.restoreOnExit'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l no-restore-on-exit -d 'Keep the container in dev mode when the dev process stops, whatever osa.restoreOnExit or GIT_OSA_RESTORE_ON_EXIT say'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l detach -d 'Run the dev units as systemd services in the container (`git-osa-dev-<unit>`) and return once they serve: `git osa logs -f` follows them, `git osa sync` redeploys, `git osa stop` ends them. git config osa.detach makes it the default'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l db-snapshot -d 'Dump the service\'s database into the container before the session\'s first db sync, and note its rows and what each db sync changes, so that `git osa restore` undoes the session\'s migrations before production starts, keeping the rows others write meanwhile (the default of `git osa review`); git config osa.dbSnapshot'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l no-db-snapshot -d 'Run the db sync without a snapshot, whatever osa.dbSnapshot, GIT_OSA_DB_SNAPSHOT or `git osa review` say: restore then cannot undo a schema upgrade'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l force -d 'Take over a dev session another user started, without asking (a terminal asks)'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l no-haproxy -d 'Go on when HAProxy\'s admin socket cannot be reached: traffic is then not moved to the container, and requests reach dev and production alike'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -l hot-patch -d 'With --detach: a sync whose edits change only the bodies of functions is applied in the running uWSGI workers, each function\'s code replaced in place, with no reload (on the lab, keystone served a save 0.35 s after it, against 0.6 s with the workers\' reload and 2.9 s for the unit\'s restart). Anything else (an import, module-level code, a class, a signature, a new or deleted file, an install, a db sync) reloads the workers as without it, saying why. Units that are not uWSGI restart as usual'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand run" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l json -d 'Print JSON instead of text: a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -l online -d 'Ask the Gerrit server whether a reviewed change has a newer patchset: one `git ls-remote` a change, given up after 5 s, never asking for a password, a passphrase or a host key (when it cannot ask, status says why). Without it, status asks Gerrit nothing (the deployment\'s other hosts are still read, over ssh)'
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand status" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l container -d 'Only restore this container' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l all -d 'Restore every dev session on this host, not only the current project\'s'
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l discard-newer-rows -d 'Undo the session\'s migrations even where that loses rows written since its db sync. With a database snapshot, restore drops what the migrations added and puts back only the rows they changed, keeping what others wrote; when that would lose rows (a row a migration changed that someone changed again, a table to load back whole that others wrote to), it names them (table, count) and stops, changing nothing, unless given this'
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -s n -l dry-run -d 'Print the plan and change nothing (-n as for git)'
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -l json -d 'Print the plan as JSON instead of text (with --dry-run): a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand restore" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -l json -d 'Print JSON instead of text: a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l patchset -d 'The patchset to run (the latest when unset); same as CHANGE,N' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l container -d 'The container to use when the service has several (see `git osa status`); git config osa.container' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l service -d 'Only swap this unit of the project (repeatable, or comma-separated), e.g. `--service heat-engine`; git config osa.service (multi-valued)' -r -f -a "(__fish_git_osa_names units)"
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l allow-public-index -d 'Let pip use this index for requirements the deployment\'s repo server lacks' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l with -d 'Install this checkout too, editable, into the service\'s venv before the service itself (repeatable): a library such as oslo.db or keystonemiddleware, tried inside the running service. It stays in the venv until `git osa restore`' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l debug -d 'Debug the dev process at this terminal: `breakpoint()` in the code stops there, in pdb (the default) or pudb (`--debug=pudb`: installed into the venv for the session, as PYTHONBREAKPOINT). A uWSGI unit then runs one worker with the terminal as its stdin and no harakiri, so a breakpoint in a request handler stops at the terminal (HAProxy\'s health checks and other clients wait meanwhile); a console script (heat-engine) has the terminal already, and pdb opens it as /dev/tty (a worker reads end-of-file from its stdin). The terminal is one: the run must swap one unit (`--service`), in a container on this host' -r -f -a "pdb\t''
pudb\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l debugpy -d 'Have the dev process listen for a remote debugger (debugpy, which VS Code and the other DAP clients attach to) on the container\'s loopback at PORT (5678 when not given), and forward PORT on this machine\'s loopback to it while the run lasts, through the same connection as the rest (lxc-attach, or ssh to another host). debugpy is installed into the venv for the session from the deployment\'s package sources (as a missing requirement, another index is offered when they lack it); restore puts production\'s venv back, without it. A uWSGI unit runs one worker without harakiri. The attach configuration (VS Code\'s launch.json, the path mapping from the container\'s copy to your checkout) is printed when the run starts' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l conf -d 'Start with this development configuration (repeatable), as `git osa conf set FILE SECTION.KEY VALUE` sets it, before the dev units start: e.g. `--conf heat.conf:DEFAULT.debug=True`. Restore puts production\'s back' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l clean -d 'Remove git-osa\'s worktrees and refs of the changes no container of the project runs now; a worktree with edits of yours is kept (and said)'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l clone-dependencies -d 'Clone the checkout of a Depends-On project that git-osa cannot find (in git config osa.checkouts, or beside this checkout) into git-osa\'s cache, without asking (a terminal asks)'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -s n -l dry-run -d 'Print the plan (each command, where, as whom) and change nothing (-n as for git-review and git)'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l json -d 'Print the plan as JSON instead of text (with --dry-run): a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l restore-on-exit -d 'Restore production as soon as the dev process stops; git config osa.restoreOnExit'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l no-restore-on-exit -d 'Keep the container in dev mode when the dev process stops, whatever osa.restoreOnExit or GIT_OSA_RESTORE_ON_EXIT say'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l detach -d 'Run the dev units as systemd services in the container (`git-osa-dev-<unit>`) and return once they serve: `git osa logs -f` follows them, `git osa sync` redeploys, `git osa stop` ends them. git config osa.detach makes it the default'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l db-snapshot -d 'Dump the service\'s database into the container before the session\'s first db sync, and note its rows and what each db sync changes, so that `git osa restore` undoes the session\'s migrations before production starts, keeping the rows others write meanwhile (the default of `git osa review`); git config osa.dbSnapshot'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l no-db-snapshot -d 'Run the db sync without a snapshot, whatever osa.dbSnapshot, GIT_OSA_DB_SNAPSHOT or `git osa review` say: restore then cannot undo a schema upgrade'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l force -d 'Take over a dev session another user started, without asking (a terminal asks)'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l no-haproxy -d 'Go on when HAProxy\'s admin socket cannot be reached: traffic is then not moved to the container, and requests reach dev and production alike'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -l hot-patch -d 'With --detach: a sync whose edits change only the bodies of functions is applied in the running uWSGI workers, each function\'s code replaced in place, with no reload (on the lab, keystone served a save 0.35 s after it, against 0.6 s with the workers\' reload and 2.9 s for the unit\'s restart). Anything else (an import, module-level code, a class, a signature, a new or deleted file, an install, a db sync) reloads the workers as without it, saying why. Units that are not uWSGI restart as usual'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand review" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -l json -d 'Print JSON instead of text: every check, with its result and fix (a versioned document described by git-osa-json.schema.json, doc/ in the source, share/doc/git-osa/ once installed). The exit status is the same'
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l unit -d 'Only this unit of the project (repeatable), e.g. `--unit heat-engine`' -r -f -a "(__fish_git_osa_names units)"
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l since -d 'Only lines since this time, in journalctl\'s words (`10 min ago`, `today`, `2024-05-01 12:00`)' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l container -d 'The container, when the service has several and more than one is in dev mode' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -s f -l follow -d 'Keep following: print new lines as they come, until Ctrl-C'
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l hooks -d 'Show the log of the redeploys the git hooks ran (`git osa hooks install`)'
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -l watch -d 'Show the log of the background watcher (`git osa watch --detach`): one line per sync, with what changed and how it ended'
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand logs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -l container -d 'The container, when the service has several in dev mode' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand stop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l container -d 'The container, when the service has several in dev mode' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l allow-public-index -d 'Let pip use this index for requirements the deployment\'s repo server lacks' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -s n -l dry-run -d 'Print the plan and change nothing (-n as for git)'
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -l force -d 'Sync this checkout into a session another checkout started (a linked worktree, a reviewed change) without asking: its code is replaced'
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l container -d 'The container, when the service has several (see `git osa status`); git config osa.container' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l detach -d 'Watch in the background and return: `git osa logs --watch` shows what it does, `git osa stop` ends it'
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -l hot-patch -d 'When watch starts the dev units (no detached session runs them yet), start them as `git osa run --detach --hot-patch` does: a save that changes only function bodies is patched into the running uWSGI workers, with no reload'
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -l container -d 'The container, when several of the service\'s are in dev mode, or to run in one that is in none (on production\'s code)' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -l container -d 'The container, when several of the service\'s are in dev mode, or to open one in a container that is in none (on production\'s code)' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand shell" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l container -d 'The container, when the service has several in dev mode' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l runner -d 'The runner, when the project declares both (it must declare the one named)' -r -f -a "stestr\t''
pytest\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l allow-public-index -d 'Let pip use this index for test requirements (and the checkout\'s requirements) the deployment\'s repo server lacks' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -l force -d 'Sync this checkout into a session another checkout started without asking, as `git osa sync --force`'
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -f -a "set" -d 'Set a value of the service\'s configuration for the dev session'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -f -a "unset" -d 'Put production\'s value back (as the session found it)'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -f -a "diff" -d 'Show every difference from the configuration the session found: git osa conf\'s values and hand edits'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and not __fish_seen_subcommand_from set unset diff help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -l container -d 'The container, when the service has several in dev mode' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -l container -d 'The container, when the service has several in dev mode' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l container -d 'The container, when the service has several in dev mode' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -l json -d 'Print JSON instead of text: a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set a value of the service\'s configuration for the dev session'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Put production\'s value back (as the session found it)'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from help" -f -a "diff" -d 'Show every difference from the configuration the session found: git osa conf\'s values and hand edits'
complete -c git-osa -n "__fish_git_osa_using_subcommand conf; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -l container -d 'The container, when the service has several (a terminal asks otherwise)' -r -f -a "(__fish_git_osa_names containers)"
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -s y -l yes -d 'Rebuild without asking (without a terminal, rebuild needs it)'
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -s n -l dry-run -d 'Print what would run, where, and change nothing'
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand rebuild" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "install" -d 'Install the hooks (again: updates them)'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "uninstall" -d 'Remove git-osa\'s hooks and put back those they replaced'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "status" -d 'Show which hooks are git-osa\'s and how the last redeploy ended'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -l start -d 'Also start a detached dev session when the container is in none (otherwise the hooks only redeploy into a session this checkout started)'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -l inventory -d 'OSA inventory to read the containers from; git config osa.inventory' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -l lxc-path -d 'LXC path of the containers (lxc-* -P), LXC\'s default when unset; git config osa.lxcPath' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -l deploy-host -d 'The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the inventory is read there and every host reached through it; git config osa.deployHost' -r
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -l haproxy-socket -d 'HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config osa.haproxySocket' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -l config -d 'Configuration file (catalog additions, public index); see FILES' -r -F
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -l color -d 'Colour git-osa\'s own `error:`, `warning:` and `hint:`: auto (on a terminal, unless NO_COLOR is set or git\'s color.osa / color.ui says otherwise), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -l json -d 'Print JSON instead of text: a versioned document described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed)'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Say more, on stderr: -v logs every command git-osa runs in a container (where, as whom, how long, how it ended); -vv also streams the output of long steps (sync, pip, db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Say only warnings and errors on stderr: no step lines, no progress. What a command answers on stdout (status, a dry run\'s plan) is still printed'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install the hooks (again: updates them)'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove git-osa\'s hooks and put back those they replaced'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show which hooks are git-osa\'s and how the last redeploy ended'
complete -c git-osa -n "__fish_git_osa_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "run" -d 'Swap the checkout into its container and run it in the foreground (the default)'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "status" -d 'Show the project\'s containers, their units, HAProxy servers and dev sessions'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "restore" -d 'Put production back: end the checkout\'s watcher and the dev process, restore the venv, undo the session\'s migrations (with its database snapshot, keeping the rows others wrote), start the units'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "config" -d 'Show the settings in effect and where each comes from'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "review" -d 'Run a Gerrit change in the service\'s container, leaving your own tree as it is'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "doctor" -d 'Check that this host and the project\'s containers have what git-osa needs'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "logs" -d 'Show the output of the detached dev units (`git osa run --detach`) from the journal'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "stop" -d 'End the checkout\'s watcher (`git osa watch`) and the detached dev units; the container stays in dev mode'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "sync" -d 'Send what changed in the checkout to the container in dev mode and run the detached dev units on it'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "watch" -d 'Sync each save of the checkout into the container, until Ctrl-C'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "exec" -d 'Run a command in the service\'s environment, in its container'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "shell" -d 'Open an interactive shell in the service\'s environment, as `git osa exec` runs a command: as the service\'s user, the venv active, in the synced tree'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "test" -d 'Sync the checkout, then run the project\'s unit tests in its container'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "conf" -d 'Change the service\'s configuration for the dev session; restore puts production\'s back'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "rebuild" -d 'Destroy the service\'s container and make it again with the deployment\'s own commands: the article\'s remedy for a container broken during development'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "hooks" -d 'Install, remove or show the git hooks that redeploy on commit'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and not __fish_seen_subcommand_from run status restore config review doctor logs stop sync watch exec shell test conf rebuild hooks help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and __fish_seen_subcommand_from conf" -f -a "set" -d 'Set a value of the service\'s configuration for the dev session'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and __fish_seen_subcommand_from conf" -f -a "unset" -d 'Put production\'s value back (as the session found it)'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and __fish_seen_subcommand_from conf" -f -a "diff" -d 'Show every difference from the configuration the session found: git osa conf\'s values and hand edits'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "install" -d 'Install the hooks (again: updates them)'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "uninstall" -d 'Remove git-osa\'s hooks and put back those they replaced'
complete -c git-osa -n "__fish_git_osa_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "status" -d 'Show which hooks are git-osa\'s and how the last redeploy ended'

# --container, --service and --unit take names from the deployment: `git-osa __complete` prints the
# checkout's service's containers or units (nothing on any error), given the words typed so
# far.
function __fish_git_osa_names
    git-osa __complete $argv[1] (commandline -opc) 2>/dev/null
end
