#!/usr/bin/env bash
# Interoperability checks: the kit's client against Python's http.server,
# and curl against the kit's server. Each side is only half of HTTP; this
# shows that each half also works with someone else's other half.
#
# Usage: scripts/interop.sh        (needs cargo, python3 and curl)
# Prints one line per check (ok/FAIL) and a summary; exits 1 if any failed.
set -euo pipefail

cd "$(dirname "$0")/.."
WWW=fixtures/www
CLIENT=target/debug/client
SERVER=target/debug/server

work=$(mktemp -d)
python_pid=""
server_pid=""
checks=0
failures=0

cleanup() {
    if [[ -n $python_pid ]]; then kill "$python_pid" 2>/dev/null || true; fi
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# check NAME COMMAND...: runs COMMAND and reports ok or FAIL under NAME.
# Inside a check `set -e` does not apply (bash ignores it in an `if`), so
# every step of a check function ends in `|| return 1`.
check() {
    local name=$1
    shift
    checks=$((checks + 1))
    if "$@" >"$work/check.log" 2>&1; then
        echo "ok   $name"
    else
        echo "FAIL $name"
        sed 's/^/     | /' "$work/check.log"
        failures=$((failures + 1))
    fi
}

# expect_equal WHAT EXPECTED ACTUAL
expect_equal() {
    if [[ $2 != "$3" ]]; then
        echo "$1: expected '$2', got '$3'"
        return 1
    fi
}

# first_line FILE: the first line of FILE without its CR.
first_line() {
    head -n 1 "$1" | tr -d '\r'
}

# --- our client against python3 -m http.server --------------------------

# client_fetches_byte_exact FILE: fetch fixtures/www/FILE with -o and compare.
client_fetches_byte_exact() {
    "$CLIENT" 127.0.0.1 "$python_port" "/$1" -o "$work/body" >"$work/head" || return 1
    [[ $(first_line "$work/head") == HTTP/1.?" 200 "* ]] || { cat "$work/head"; return 1; }
    cmp "$WWW/$1" "$work/body"
}

client_prints_404_and_exits_0() {
    "$CLIENT" 127.0.0.1 "$python_port" /no-such-page.html >"$work/out" || return 1
    [[ $(first_line "$work/out") == HTTP/1.?" 404 "* ]] || { head -n 5 "$work/out"; return 1; }
}

client_with_fail_exits_1_on_404() {
    local status=0
    "$CLIENT" 127.0.0.1 "$python_port" /no-such-page.html --fail >/dev/null || status=$?
    expect_equal "exit status" 1 "$status"
}

client_head_prints_headers_only() {
    "$CLIENT" 127.0.0.1 "$python_port" /index.html --head >"$work/out" || return 1
    [[ $(first_line "$work/out") == HTTP/1.?" 200 "* ]] || { cat "$work/out"; return 1; }
    # The output ends with the blank line that ends the head: no body.
    [[ $(tail -c 4 "$work/out" | od -An -c | tr -d ' ') == '\r\n\r\n' ]]
}

# start_python: starts the server in the background and learns its port from
# the line it prints first: "Serving HTTP on 127.0.0.1 port 45678 (...) ...".
start_python() {
    local line
    exec {python_out}< <(exec python3 -u -m http.server 0 --bind 127.0.0.1 \
        --directory "$WWW" 2>"$work/python.log")
    python_pid=$!
    read -r -t 10 line <&"$python_out" || { cat "$work/python.log"; return 1; }
    [[ $line =~ port\ ([0-9]+) ]] || { echo "unexpected first line: $line"; return 1; }
    python_port=${BASH_REMATCH[1]}
}

# --- curl (and our client) against our server ----------------------------

# start_server: starts the kit's server; it prints "listening on http://IP:PORT".
start_server() {
    local line
    [[ -x $SERVER ]] || { echo "$SERVER was not built"; return 1; }
    exec {server_out}< <(exec "$SERVER" --port 0 --root "$WWW" --quiet 2>"$work/server.log")
    server_pid=$!
    read -r -t 10 line <&"$server_out" || { cat "$work/server.log"; return 1; }
    [[ $line =~ ^listening\ on\ (http://[^ ]+)$ ]] || { echo "unexpected first line: $line"; return 1; }
    server_url=${BASH_REMATCH[1]}
}

curl_gets_index_byte_exact() {
    local code
    code=$(curl -sS -o "$work/body" -w '%{http_code}' "$server_url/index.html") || return 1
    expect_equal "status" 200 "$code" || return 1
    cmp "$WWW/index.html" "$work/body"
}

curl_gets_404_for_a_missing_page() {
    local code
    code=$(curl -sS -o /dev/null -w '%{http_code}' "$server_url/no-such-page.html") || return 1
    expect_equal "status" 404 "$code"
}

curl_head_gets_200_and_content_length() {
    local length
    curl -sS -I "$server_url/index.html" | tr -d '\r' >"$work/head" || return 1
    [[ $(head -n 1 "$work/head") == HTTP/1.?" 200"* ]] || { cat "$work/head"; return 1; }
    length=$(sed -n 's/^[Cc]ontent-[Ll]ength: *//p' "$work/head")
    expect_equal "Content-Length" "$(wc -c <"$WWW/index.html" | tr -d ' ')" "$length"
}

client_gets_index_from_our_server_byte_exact() {
    local port=${server_url##*:}
    local host=${server_url#http://}
    host=${host%:*}
    host=${host#[}
    host=${host%]}
    "$CLIENT" "$host" "$port" /index.html -o "$work/body" >/dev/null || return 1
    cmp "$WWW/index.html" "$work/body"
}

# --- main ----------------------------------------------------------------

cargo build --bins --quiet

check "fixtures/www/index.html exists" test -f "$WWW/index.html"
check "python3 http.server starts" start_python
if [[ -n ${python_port:-} ]]; then
    for path in "$WWW"/*; do
        [[ -f $path ]] || continue
        check "client fetches ${path#"$WWW/"} from python byte-exact" client_fetches_byte_exact "${path#"$WWW/"}"
    done
    check "client prints 404 from python and exits 0" client_prints_404_and_exits_0
    check "client --fail exits 1 on python's 404" client_with_fail_exits_1_on_404
    check "client --head prints only python's headers" client_head_prints_headers_only
fi

check "server starts and prints its address" start_server
if [[ -n ${server_url:-} ]]; then
    check "curl gets index.html from server byte-exact" curl_gets_index_byte_exact
    check "curl gets 404 for a missing page" curl_gets_404_for_a_missing_page
    check "curl -I gets 200 with the right Content-Length" curl_head_gets_200_and_content_length
    check "client gets index.html from server byte-exact" client_gets_index_from_our_server_byte_exact
fi

echo "$((checks - failures)) of $checks checks passed"
[[ $failures -eq 0 ]]
