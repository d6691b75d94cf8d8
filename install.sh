#!/usr/bin/env bash
# Builds git-osa and installs it so that `git osa`, `git help osa` and `git osa <TAB>` work:
#   PREFIX/bin/git-osa, PREFIX/share/man/man1/git-osa*.1, bash/zsh/fish completions,
#   PREFIX/share/doc/git-osa/git-osa-json.schema.json (what --json prints).
# Usage: ./install.sh [PREFIX]   (default /usr/local; run as root for system paths)
set -euo pipefail
cd "$(dirname "$0")"
prefix=${1:-/usr/local}
command -v cargo >/dev/null || { echo "install.sh: cargo (Rust >= 1.89) is needed: https://rustup.rs" >&2; exit 1; }
cargo build --release --locked
install -D -m 0755 target/release/git-osa "$prefix/bin/git-osa"
for page in man/*.1; do
  install -D -m 0644 "$page" "$prefix/share/man/man1/${page#man/}"
done
install -D -m 0644 doc/git-osa-json.schema.json "$prefix/share/doc/git-osa/git-osa-json.schema.json"
install -D -m 0644 completions/_git-osa "$prefix/share/zsh/site-functions/_git-osa"
install -D -m 0644 completions/git-osa.fish "$prefix/share/fish/vendor_completions.d/git-osa.fish"
# fish loads git's completions for `git osa`, never git-osa's: this, sourced at start, hands
# `git osa`'s words to them.
install -D -m 0644 completions/conf.d/git-osa.fish "$prefix/share/fish/vendor_conf.d/git-osa.fish"
# git's bash completion looks for _git_osa when completing `git osa`; it must be loaded
# eagerly, so it goes where bash-completion sources everything at start.
if [ -w /etc/bash_completion.d ] || [ "$(id -u)" = 0 ]; then
  install -D -m 0644 completions/git-osa.bash /etc/bash_completion.d/git-osa
else
  install -D -m 0644 completions/git-osa.bash "$prefix/share/bash-completion/completions/git-osa"
fi
command -v mandb >/dev/null && mandb -q "$prefix/share/man" 2>/dev/null || true
echo "installed $("$prefix/bin/git-osa" --version) in $prefix"
