#!/usr/bin/env bash
# Print the path of a CPython of the function's runtime version (default 3.13) on this machine, or nothing.
# The PATH's python3.13 first, then pyenv's newest 3.13.x: pyenv need not be on PATH (CI's environment
# does not set it up), so its root is $PYENV_ROOT, `pyenv root`, or ~/.pyenv. The path printed is the
# interpreter itself (sys.executable), never a pyenv shim.
set -uo pipefail
VERSION=${1:-3.13}
ROOT=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
for candidate in "python$VERSION" $(ls -d "$ROOT/versions/$VERSION".* 2>/dev/null | sort -V -r | sed "s|\$|/bin/python$VERSION|"); do
    if found=$("$candidate" -c 'import sys; print(sys.executable)' 2>/dev/null) && [[ -n "$found" ]]; then
        echo "$found"
        exit 0
    fi
done
exit 0
