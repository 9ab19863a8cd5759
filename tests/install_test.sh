#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then build the README's host program against the
# installed header and library through pkg-config, and run it.
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/automl include/automl.h lib/libautoml.a lib/libautoml.so lib/pkgconfig/automl.pc; do
  [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -Wall -Werror "$src/tests/example_host.c" $(pkg-config --cflags --libs automl) \
   -Wl,-rpath,"$prefix/lib" -o "$prefix/host"
"$prefix/host" "$src/datasets/pima_diabetes_train.csv" diabetes \
   "$src/datasets/pima_diabetes_test.csv" > "$prefix/pred.csv"
head -n 1 "$prefix/pred.csv" | grep -q '^prediction,proba_neg,proba_pos$'
# Only the public symbols leave the shared library.
if nm -D --defined-only "$prefix/lib/libautoml.so" | awk '{print $3}' | grep -v '^automl_'; then
  echo "non-public symbols exported"; exit 1
fi
echo "install ok"
