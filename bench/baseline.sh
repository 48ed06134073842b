# Sourced by the benchmarks: the release binary of an earlier commit, for figures side by side.
#
#   BASE_BIN=$(baseline_binary REV)   # bench-out/bin/relaydesk-<short rev>, built once
#
# Built from a temporary git worktree of REV into this tree's target directory, so the
# dependencies both commits share are compiled once.
baseline_binary() {
  local rev src tdir bin
  rev=$(git rev-parse --short "$1")
  bin=$PWD/bench-out/bin/relaydesk-$rev
  if [ ! -x "$bin" ]; then
    mkdir -p "$PWD/bench-out/bin"
    src=$PWD/bench-out/baseline-src
    git worktree remove --force "$src" >/dev/null 2>&1 || rm -rf "$src"
    git worktree prune
    git worktree add --detach "$src" "$rev" >/dev/null 2>&1
    tdir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    (cd "$src" && CARGO_TARGET_DIR=$tdir cargo build --release --quiet --bin relaydesk) >&2
    cp "$tdir/release/relaydesk" "$bin"
    git worktree remove --force "$src"
  fi
  echo "$bin"
}

# A fingerprint of the SQLite schema REV's binary makes ("work" for the work tree): stores built
# by binaries with the same migrations are interchangeable.
schema_key() {
  local rev=$1 f
  if [ "$rev" = work ]; then
    cat "$PWD"/migrations/sqlite/*
  else
    for f in $(git ls-tree --name-only "$rev" migrations/sqlite/); do git show "$rev:$f"; done
  fi | md5sum | cut -c1-12
}
