#!/usr/bin/env bash
# Tests for clients/completion/interpctl.bash: source it and ask it what it
# completes, as bash would on <TAB>. Usage: completion_test.sh COMPLETION_FILE
set -u
source "$1"

failures=0
stub_dir=$(mktemp -d)
trap 'rm -rf "$stub_dir"' EXIT
# A stand-in interpctl for the actor names: records its arguments.
cat > "$stub_dir/interpctl" <<'STUB'
#!/usr/bin/env bash
echo "$*" > "$(dirname "$0")/args"
printf 'counter\ncache\nmailer\n'
STUB
chmod +x "$stub_dir/interpctl"
touch "$stub_dir/job.py" "$stub_dir/jobs.txt"

# expect "WORDS..." -- "EXPECTED COMPLETIONS": the last word is the one
# being completed.
expect() {
    local -a words=()
    while [[ $1 != -- ]]; do words+=("$1"); shift; done
    shift
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$((${#words[@]} - 1))
    COMPREPLY=()
    _interpctl
    local got="${COMPREPLY[*]}"
    if [[ "$got" != "$1" ]]; then
        echo "FAIL: [${words[*]}] completed to [$got], expected [$1]"
        failures=$((failures + 1))
    fi
}

expect interpctl "" -- "run ping version stats actors call send spawn stop"
expect interpctl st -- "stats stop"
expect interpctl --so -- "--socket"
expect interpctl --socket /tmp/x r -- "run"
expect interpctl run --ti -- "--timeout"
expect interpctl run --isolation "" -- "reuse fresh"
expect interpctl run --lane "" -- "isolated compat auto"
expect interpctl spawn --restart o -- "on-failure"
expect interpctl run "$stub_dir/jo" -- "$stub_dir/job.py $stub_dir/jobs.txt"
# After the script, words belong to it: no interpctl options.
expect interpctl run "$stub_dir/job.py" --ti -- ""
expect interpctl run -c "print(1)" --ti -- "--timeout"
expect interpctl stats --j -- "--json"
expect interpctl actors -q -- "-q"

# Actor names come from `interpctl actors -q` on the socket given.
expect "$stub_dir/interpctl" --socket /tmp/d.sock call c -- "counter cache"
if [[ "$(cat "$stub_dir/args")" != "--socket /tmp/d.sock actors -q" ]]; then
    echo "FAIL: actor names were asked with [$(cat "$stub_dir/args")]"
    failures=$((failures + 1))
fi
expect "$stub_dir/interpctl" stop m -- "mailer"
expect "$stub_dir/interpctl" call counter a -- ""

if ((failures)); then
    echo "$failures completion checks failed"
    exit 1
fi
echo "all completion checks passed"
