#!/usr/bin/env bash
# Make the Lambda base image that `sam local invoke --skip-pull-image` builds on available to Docker:
# public.ecr.aws/lambda/python:3.13-<arch>. Use the real image where it is present or can be pulled;
# otherwise (no route to public ECR, as on this project's machines and CI) build a local stand-in under
# the same tag:
#   Debian bookworm minbase (debootstrap) + libssl3 libsqlite3-0
#   + a CPython 3.13 of this machine (pyenv), copied in at its own path, /var/lang/bin/python3 linked to it
#   + awslambdaric (pinned below) in /var/runtime, and /var/runtime/bootstrap running it
#   + ENTRYPOINT /var/rapid/aws-lambda-rie, where SAM puts the runtime interface emulator it ships.
# The stand-in is the host's architecture only (the CPython copied in is the host's).
# Usage: scripts/lambda_image.sh [--print-tag]
# LAMBDA_IMAGE_REBUILD=1: do not reuse an image already present (pull again, or rebuild the stand-in).
set -euo pipefail

AWSLAMBDARIC=awslambdaric==4.2.2
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

case "$(uname -m)" in
x86_64) ARCH=x86_64 ;;
aarch64 | arm64) ARCH=arm64 ;;
*) echo "lambda_image.sh: no Lambda architecture for $(uname -m)" >&2 && exit 2 ;;
esac
TAG="public.ecr.aws/lambda/python:3.13-$ARCH"
if [[ "${1:-}" == "--print-tag" ]]; then
    echo "$TAG"
    exit 0
fi

if [[ "${LAMBDA_IMAGE_REBUILD:-0}" != 1 ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "lambda image: $TAG is present ($(docker image inspect -f '{{index .Config.Labels "profile-expand.stand-in"}}' "$TAG" | sed 's/^$/the real image/'))"
    exit 0
fi
if timeout 300 docker pull "$TAG"; then
    echo "lambda image: pulled the real $TAG"
    exit 0
fi
echo "lambda image: $TAG cannot be pulled here; building a local stand-in under that tag"

# The function's runtime is python3.13: the PATH's, else pyenv's newest 3.13 (pyenv need not be on PATH).
PY313=$(bash src/find_runtime_python.sh 3.13)
if [[ -z "$PY313" ]]; then
    echo "lambda_image.sh: no CPython 3.13 on this machine (PATH or pyenv); cannot build the stand-in" >&2
    exit 1
fi
PREFIX=$("$PY313" -c 'import sys; print(sys.prefix)')
echo "lambda image: using $PY313 ($("$PY313" -VV | head -1)), prefix $PREFIX"

WORK=$(mktemp -d /tmp/lambda-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
debootstrap --variant=minbase --include=libssl3,libsqlite3-0,ca-certificates bookworm "$ROOTFS" "$DEBIAN_MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log" >&2
    exit 1
}
# Keep the image small: no apt lists, docs or man pages, none of which a function uses.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*

# The interpreter at its own path: its prefix is compiled in, so it finds its standard library there.
mkdir -p "$ROOTFS$PREFIX"
tar -C "$PREFIX" --exclude=./lib/python3.13/test --exclude=./lib/python3.13/idlelib \
    --exclude=./lib/python3.13/tkinter --exclude=./lib/python3.13/site-packages -cf - . |
    tar -C "$ROOTFS$PREFIX" -xf -
mkdir -p "$ROOTFS$PREFIX/lib/python3.13/site-packages" "$ROOTFS/var/lang/bin" "$ROOTFS/var/runtime" \
    "$ROOTFS/var/task" "$ROOTFS/opt"
ln -s "$PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python3"
ln -s "$PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python3.13"
ln -s "$PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python"

# The runtime interface client, as the real image has it in /var/runtime (cp313 wheels for this arch).
PIP_ROOT_USER_ACTION=ignore "$PY313" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
    --target "$ROOTFS/var/runtime" "$AWSLAMBDARIC"
cat >"$ROOTFS/var/runtime/bootstrap" <<'EOF'
#!/bin/sh
# Started by the runtime interface emulator for each fresh execution environment.
exec /var/lang/bin/python3 -m awslambdaric "$_HANDLER"
EOF
chmod 755 "$ROOTFS/var/runtime/bootstrap"

tar -C "$ROOTFS" -cf - . | docker import \
    -c 'ENTRYPOINT ["/var/rapid/aws-lambda-rie"]' \
    -c 'WORKDIR /var/task' \
    -c 'ENV LANG=en_US.UTF-8 TZ=:/etc/localtime LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime' \
    -c 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin PYTHONPATH=/var/runtime' \
    -c "LABEL profile-expand.stand-in=\"local stand-in: Debian bookworm + $("$PY313" -V) + $AWSLAMBDARIC\"" \
    - "$TAG" >/dev/null
echo "lambda image: built the stand-in $TAG ($(docker image inspect -f '{{.Size}}' "$TAG") bytes)"
