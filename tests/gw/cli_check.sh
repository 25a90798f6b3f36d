#!/usr/bin/env bash
# sctpgw's command line: exit codes, --check, and FILE:LINE errors.
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
check() { # check DESCRIPTION WANT_STATUS WANT_PATTERN CMD...
    local what=$1 want=$2 pattern=$3 out rc
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL: $what: status $rc (want $want), output: $out"
        fails=$((fails + 1))
    else
        echo "ok: $what"
    fi
}
head -c 48 /dev/urandom >"$dir/site.key"
chmod 600 "$dir/site.key"
cat >"$dir/good.ini" <<'INI'
[gateway]
name = site-a
psk_file = site.key
[association]
role = connect
remote = 10.1.0.2, 10.2.0.2
[web]
accept = 127.0.0.1:8080
INI
sed 's/^failover_ms.*//; s/^role = connect/role = connect\nfailover_ms = 50/' "$dir/good.ini" >"$dir/bad.ini"
sed 's/^psk_file.*/&\ncontrol = off/' "$dir/good.ini" >"$dir/off.ini"
sed 's/^psk_file.*/&\ncontrol = run\/x.sock/' "$dir/good.ini" >"$dir/rel.ini"
check "--version" 0 '^sctpgw [0-9]+\.[0-9]+' "$bin" --version
check "--help" 0 'usage: sctpgw' "$bin" --help
check "no arguments" 2 'usage' "$bin"
check "unknown option" 2 'usage' "$bin" --frobnicate
check "--check on a good file" 0 'ok' "$bin" --check -c "$dir/good.ini"
check "--check on a bad value" 2 "bad.ini:6: failover_ms" "$bin" --check -c "$dir/bad.ini"
check "a bad file stops the gateway before the network" 2 "bad.ini:6: failover_ms" "$bin" -c "$dir/bad.ini"
check "missing file" 2 "missing.ini: cannot open" "$bin" --check -c "$dir/missing.ini"
# Runtime failures exit 1 with the reason: here either no SCTP in the kernel
# or, where there is SCTP, a service port already taken.
if python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)' 2>/dev/null; then
    python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 8080)); s.listen(); time.sleep(5)' &
    sleep 0.5
    check "a service port in use" 1 "cannot listen on 127.0.0.1:8080" timeout 10 "$bin" -c "$dir/good.ini"
    kill %1 2>/dev/null
else
    check "no SCTP in the kernel" 1 "this kernel has no SCTP" timeout 10 "$bin" -c "$dir/good.ini"
fi
# The client commands, without a gateway: each way of being out of reach
# (an answer cut short among them) has its own words and status 3; a
# refusal is 1; usage and config 2.
# A gateway that takes the request and never answers (its loop stuck):
# the client gives up after 10 s and says so; checked beside the rest.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen()
c, _ = s.accept(); c.recv(300); time.sleep(12)
' "$dir/silent.sock" &
for i in $(seq 50); do [ -S "$dir/silent.sock" ] && break; sleep 0.1; done
check "status: a gateway that never answers" 3 \
    "no answer from the gateway at $dir/silent.sock: nothing within 10 s \(is the gateway's event loop stuck\?\)" \
    "$bin" status -s "$dir/silent.sock" >"$dir/silent.out" &
check "status: no socket" 3 "no control socket at $dir/none.sock" "$bin" status -s "$dir/none.sock"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$dir/stale.sock"
check "status: a stale socket" 3 "nothing answers on $dir/stale.sock" "$bin" status -s "$dir/stale.sock"
# The fake gateway answers each client in turn; "ok LEN" announces the
# body's length, so an answer that ends short of it is not taken as whole.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen()
def ok(body):
    return b"ok %d\n" % len(body) + body
for answer in (lambda r: b"error: not a peer address\n", lambda r: ok(b"request=" + r),
               lambda r: ok(b"x" * 100000)[:50000], lambda r: b"error: not a pe",
               lambda r: b"ok\nbody\n", lambda r: ok(b"primary path set\n")):
    c, _ = s.accept(); req = c.recv(300); c.sendall(answer(req)); c.close()
' "$dir/fake.sock" &
for i in $(seq 50); do [ -S "$dir/fake.sock" ] && break; sleep 0.1; done
check "primary: the gateway refuses" 1 "the gateway says: error: not a peer address" \
    "$bin" primary 10.9.9.9 -s "$dir/fake.sock"
check "status --json --flows: the request sent, the body printed" 0 "^request=status json flows$" \
    "$bin" status --flows --json -s "$dir/fake.sock"
check "status: an answer cut short" 3 "answer from the gateway at $dir/fake.sock was cut short: [0-9]+ of 100000 bytes" \
    "$bin" status -s "$dir/fake.sock"
check "reload: an error cut short" 3 "was cut short: .error: not a pe.$" \
    "$bin" reload -s "$dir/fake.sock"
check "status: an answer without its length" 3 "was not understood" "$bin" status -s "$dir/fake.sock"
check "primary: the body of an ok answer, exactly" 0 "^primary path set$" \
    "$bin" primary 10.1.0.2 -s "$dir/fake.sock"
wait
long=$dir/$(printf 'x%.0s' $(seq 120)).sock # past a socket path's 107 bytes
check "status: -s too long for a socket" 2 "path too long for a socket" "$bin" status -s "$long"
check "status: -c and -s together" 2 usage "$bin" status -c "$dir/good.ini" -s "$dir/x.sock"
check "primary without an address" 2 usage "$bin" primary -s "$dir/x.sock"
check "primary: not an address, told before any gateway is asked" 2 \
    "^sctpgw primary: 'fibre' is not an IP address$" "$bin" primary fibre -s "$dir/none.sock"
check "status --help" 0 'usage: sctpgw' "$bin" status --help
check "reload: an unknown option, named by its command" 2 "^sctpgw reload: unrecognized option '--frob'" \
    "$bin" reload --frob
check "status: a stray argument" 2 usage "$bin" status extra -s "$dir/x.sock"
check "status: control = off" 2 "control = off" "$bin" status -c "$dir/off.ini"
check "control: a relative path" 2 "rel.ini:[0-9]+: control = run/x.sock: expected an absolute path" "$bin" --check -c "$dir/rel.ini"
chmod 644 "$dir/site.key"
check "world-readable key" 2 "good.ini:[0-9]+: .*psk_file.*chmod 600" "$bin" --check -c "$dir/good.ini"
wait
cat "$dir/silent.out"
grep -q '^ok: ' "$dir/silent.out" || fails=$((fails + 1))
[ "$fails" -eq 0 ] && echo "cli_check: all passed" || exit 1
