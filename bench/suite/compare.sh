#!/usr/bin/env bash
# compare.sh BASE: the test suite's cost at BASE and at HEAD, side by side in
# one run. For every package that has tests at both commits, it builds both
# test binaries (compilation is not timed), lists the top-level tests the two
# share, and runs just those, package by package, twice on each side in the
# order base, head, head, base, under /usr/bin/time. It prints each package's
# CPU (user+sys) and wall seconds, summed over both runs of a side, and the
# totals with their ratio. Tests that exist on one side only are left
# out, so the figures compare the same tests.
#
#   bench/suite/compare.sh cad9804            # the commit before the platform-shape work
#   PKGS='./services/...' bench/suite/compare.sh cad9804
set -euo pipefail
base=${1:?usage: compare.sh BASE}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach -q "$work/base" "$base"
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-$("$root/scripts/dev-postgres.sh" postgres)}
pkgs=${PKGS:-./...}

list() { (cd "$1" && go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' $pkgs); }
declare -A headdir basedir
while read -r p d; do headdir[$p]=$d; done < <(list "$root")
while read -r p d; do basedir[$p]=$d; done < <(list "$work/base")

totals=(0 0 0 0) # base cpu, base wall, head cpu, head wall
printf '%-58s %21s %21s\n' package 'base cpu/wall s' 'head cpu/wall s'
for p in $(printf '%s\n' "${!headdir[@]}" | sort); do
  [[ -n ${basedir[$p]:-} ]] || continue
  name=${p//\//_}
  (cd "${basedir[$p]}" && go test -c -o "$work/$name.base" . >/dev/null 2>&1) || continue
  (cd "${headdir[$p]}" && go test -c -o "$work/$name.head" . >/dev/null) || continue
  # Listed from the package's directory, as go test would: a TestMain may
  # build or read files relative to it even when only listing.
  common=$(comm -12 <(cd "${basedir[$p]}" && "$work/$name.base" -test.list '^Test' | grep '^Test' | sort) \
    <(cd "${headdir[$p]}" && "$work/$name.head" -test.list '^Test' | grep '^Test' | sort) | paste -sd'|')
  [[ -n $common ]] || continue
  # Base, head, head, base: a load that rises or falls steadily while the
  # package runs weighs on both sides alike. Each side sums its two runs.
  declare -A cpu=([base]=0 [head]=0) wall=([base]=0 [head]=0)
  for side in base head head base; do
    dir=${basedir[$p]}; [[ $side == head ]] && dir=${headdir[$p]}
    out=$( (cd "$dir" && /usr/bin/time -f '%U %S %e' "$work/$name.$side" -test.run "^($common)\$" -test.count=1 -test.timeout=30m >/dev/null 2>"$work/err") ; tail -1 "$work/err") || { echo "$p ($side) failed:"; tail -20 "$work/err"; exit 1; }
    read -r u s e <<<"$out"
    cpu[$side]=$(echo "${cpu[$side]} + $u + $s" | bc)
    wall[$side]=$(echo "${wall[$side]} + $e" | bc)
  done
  row=("${cpu[base]}" "${wall[base]}" "${cpu[head]}" "${wall[head]}")
  printf '%-58s %10s %10s %10s %10s\n' "$p" "${row[@]}"
  for i in 0 1 2 3; do totals[i]=$(echo "${totals[i]} + ${row[i]}" | bc); done
done
printf '%-58s %10s %10s %10s %10s\n' total "${totals[@]}"
awk -v bc="${totals[0]}" -v bw="${totals[1]}" -v hc="${totals[2]}" -v hw="${totals[3]}" \
  'function r(h, b) { return b > 0 ? sprintf("%.3f", h / b) : "n/a" } BEGIN { print "head/base: cpu " r(hc, bc) ", wall " r(hw, bw) }'
