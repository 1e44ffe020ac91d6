#!/bin/bash
# test-packages.sh: the package test CI runs as root on a Debian 12 machine
# or container (no systemd as PID 1 needed). Prints TAP and exits non-zero
# when a check fails.
#
# It installs what it needs with apt-get, builds the .deb from the current
# tree (packaging/debian/build-deb.sh), runs lintian (no errors allowed),
# installs the package with dpkg -i and checks its files, the system user
# and the conffile's owner and mode; runs the installed binary with -t, then
# starts it as the unit would (root, -u claude-proxy) against a fake OpenAI
# upstream (fake-upstream.py), gets / and a translated /v1/messages, checks
# who the processes run as, stops it with SIGTERM and purges the package,
# checking nothing is left. Finally it builds the .rpm
# (packaging/rpm/build-rpm.sh) and checks that rpm -qlp lists the same
# files as the .deb.
#
# Environment: CP_SOURCE_DIR  the tree to package (default: this checkout)
#              CP_NO_APT=1    do not install anything, fail if it is missing
#              CP_KEEP=1      keep the work directory (logs, packages)
# The machine is changed: build dependencies are installed, and the
# claude-proxy package is installed and purged (the system user stays, as
# Debian leaves system users). A claude-proxy package installed before the
# run is purged first.
# shellcheck disable=SC2317 # cleanup, listening: called by trap and wait_for
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${CP_SOURCE_DIR:-$here/../..}" && pwd)

# --- TAP ---------------------------------------------------------------------
# shellcheck source=tests/package/tap.sh
. "$here/tap.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "Bail out! test-packages.sh installs packages and must run as root"
	exit 1
fi

# --- Work directory and cleanup ---------------------------------------------------
work=$(mktemp -d /tmp/claude-proxy-pkgtest.XXXXXX)
chmod 0755 "$work"		# the service user reads the test config here
proxy_pid=
upstream_pid=
installed_by_us=0

# A zombie counts as dead: our own children stay zombies until waited for,
# and orphaned workers may too where PID 1 does not reap (containers).
dead() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [ "${st#Z}" != "$st" ]
}
alive() { ! dead "$1"; }

cleanup() {
	if [ -n "$proxy_pid" ] && alive "$proxy_pid"; then
		kill -TERM "$proxy_pid" 2>/dev/null
		for _ in $(seq 1 50); do
			dead "$proxy_pid" && break
			sleep 0.2
		done
		kill -KILL "$proxy_pid" 2>/dev/null
	fi
	if [ -n "$upstream_pid" ]; then
		kill -TERM "$upstream_pid" 2>/dev/null
		wait "$upstream_pid" 2>/dev/null
	fi
	if [ "$installed_by_us" = 1 ] &&
	    dpkg-query -W -f='${db:Status-Status}' claude-proxy 2>/dev/null |
	    grep -qv '^not-installed$'; then
		timeout 300 dpkg --purge claude-proxy >/dev/null 2>&1
	fi
	if [ "${CP_KEEP:-0}" = 1 ]; then
		echo "# work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. What the test needs ---------------------------------------------------------
# Build dependencies of both packages, the tools, and the package's own
# run-time dependencies (dpkg -i does not fetch them).
needed="build-essential debhelper dpkg-dev fakeroot lintian rpm python3
    meson ninja-build pkg-config libcurl4-openssl-dev libjson-c-dev libbsd-dev
    systemd procps git mandoc cpio"
missing=
for p in $needed; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null |
	    grep -q '^installed$' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	ok "build and test dependencies present"
elif [ "${CP_NO_APT:-0}" = 1 ]; then
	not_ok "build and test dependencies present (missing:$missing)"
	finish
else
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if timeout 1200 apt-get install -y --no-install-recommends $missing \
	    >"$work/apt.log" 2>&1 ||
	    { timeout 600 apt-get update >>"$work/apt.log" 2>&1 &&
	    timeout 1200 apt-get install -y --no-install-recommends $missing \
	    >>"$work/apt.log" 2>&1; }; then
		ok "installed missing dependencies:$missing"
	else
		not_ok "installed missing dependencies:$missing"
		tail -n 20 "$work/apt.log" | diag
		finish
	fi
fi

if dpkg-query -W -f='${db:Status-Status}' claude-proxy 2>/dev/null |
    grep -qv '^not-installed$'; then
	echo "# claude-proxy was installed before the test: purging it"
	timeout 300 dpkg --purge claude-proxy 2>&1 | diag
fi

# --- 2. The .deb -------------------------------------------------------------------
deb=
if timeout 1800 "$src/packaging/debian/build-deb.sh" -s "$src" \
    -o "$work/dist" >"$work/deb-build.log" 2>&1; then
	deb=$(tail -n 1 "$work/deb-build.log")
fi
if [ -n "$deb" ] && [ -f "$deb" ]; then
	ok "build-deb.sh builds $(basename "$deb")"
else
	not_ok "build-deb.sh builds a .deb"
	tail -n 40 "$work/deb-build.log" | diag
	deb=
fi

if [ -n "$deb" ]; then
	timeout 600 lintian --fail-on error "$deb" >"$work/lintian.log" 2>&1
	lintian_rc=$?
	grep -E '^[EWIPX]: ' "$work/lintian.log" | diag
	echo "# lintian: $(grep -c '^E: ' "$work/lintian.log") errors," \
	    "$(grep -c '^W: ' "$work/lintian.log") warnings"
	if [ "$lintian_rc" -eq 0 ] && ! grep -q '^E: ' "$work/lintian.log"; then
		ok "lintian reports no errors"
	else
		not_ok "lintian reports no errors (exit $lintian_rc)"
	fi
else
	skip "lintian reports no errors" "no .deb"
fi

# --- 3. Installed -------------------------------------------------------------------
installed=0
if [ -n "$deb" ]; then
	installed_by_us=1
	if timeout 300 dpkg -i "$deb" >"$work/dpkg-i.log" 2>&1; then
		installed=1
		ok "dpkg -i installs the package"
	else
		not_ok "dpkg -i installs the package"
		tail -n 30 "$work/dpkg-i.log" | diag
	fi
else
	skip "dpkg -i installs the package" "no .deb"
fi

unit=/lib/systemd/system/claude-proxy.service
config=/etc/claude-proxy/config.json
installed_files="/usr/sbin/claude-proxy
/usr/share/man/man8/claude-proxy.8.gz
/usr/share/man/man5/claude-proxy.json.5.gz
$unit
/usr/lib/sysusers.d/claude-proxy.conf
/etc/logrotate.d/claude-proxy
$config"

if [ "$installed" = 1 ]; then
	for f in $installed_files; do
		check "installed: $f" test -f "$f"
	done
	check "installed: /usr/sbin/claude-proxy is executable" \
	    test -x /usr/sbin/claude-proxy
	check "the unit is enabled (multi-user.target.wants link)" \
	    test -L /etc/systemd/system/multi-user.target.wants/claude-proxy.service

	pw=$(getent passwd claude-proxy)
	uid=$(printf '%s' "$pw" | cut -d: -f3)
	if [ -n "$pw" ] && [ "$uid" -lt 1000 ] &&
	    [ "$(printf '%s' "$pw" | cut -d: -f6)" = /nonexistent ] &&
	    [ "$(printf '%s' "$pw" | cut -d: -f7)" = /usr/sbin/nologin ] &&
	    getent group claude-proxy >/dev/null; then
		ok "system user and group claude-proxy exist ($pw)"
	else
		not_ok "system user and group claude-proxy exist (got '$pw')"
	fi

	check "$config is a conffile" sh -c \
	    "dpkg-query -W -f='\${Conffiles}\n' claude-proxy | grep -q '^ $config '"
	perm=$(stat -c '%U:%G %a' "$config" 2>&1)
	if [ "$perm" = "root:claude-proxy 640" ]; then
		ok "$config is root:claude-proxy 0640"
	else
		not_ok "$config is root:claude-proxy 0640 (got $perm)"
	fi

	out=$(timeout 20 /usr/sbin/claude-proxy -t -c "$config" 2>&1)
	if [ "$out" = "configuration OK" ]; then
		ok "claude-proxy -t accepts the shipped configuration"
	else
		not_ok "claude-proxy -t accepts the shipped configuration"
		printf '%s\n' "$out" | diag
	fi
	# ExecStartPre runs as the service user: it must be able to read it.
	check "claude-proxy -t as the service user (ExecStartPre)" \
	    timeout 20 runuser -u claude-proxy -- \
	    /usr/sbin/claude-proxy -t -c "$config"

	if command -v systemd-analyze >/dev/null 2>&1; then
		check "systemd-analyze verify accepts the unit" \
		    timeout 60 systemd-analyze verify --man=no "$unit"
	else
		skip "systemd-analyze verify accepts the unit" "no systemd-analyze"
	fi
else
	for d in "installed files" "system user" "conffile" "-t" "unit"; do
		skip "$d" "package not installed"
	done
fi

# --- 4. Running it as the unit would, without systemd -------------------------------
# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds or time is up.
wait_for() {
	local tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

if [ "$installed" = 1 ]; then
	: >"$work/upstream.jsonl"
	python3 "$here/fake-upstream.py" "$work/upstream.jsonl" \
	    >"$work/upstream.port" 2>"$work/upstream.log" &
	upstream_pid=$!
	upstream_port=
	if wait_for 10 grep -q '^[0-9][0-9]*$' "$work/upstream.port"; then
		upstream_port=$(head -n 1 "$work/upstream.port")
		ok "fake upstream listens on 127.0.0.1:$upstream_port"
	else
		not_ok "fake upstream starts"
		diag <"$work/upstream.log"
	fi
fi

proxy_port=
if [ "$installed" = 1 ] && [ -n "$upstream_port" ]; then
	testconf=$work/test-config.json
	cat >"$testconf" <<EOF
{
  "ak": "",
  "workers": 2,
  "shutdown_timeout_seconds": 5,
  "providers": [
    {
      "name": "fake",
      "base_url": "http://127.0.0.1:$upstream_port/v1",
      "api_key": "upstream-test-key",
      "models": [
        {
          "id": "test-model",
          "remote_id": "fake-remote-model",
          "aliases": ["claude-*"]
        }
      ]
    }
  ]
}
EOF
	chown root:claude-proxy "$testconf"
	chmod 0640 "$testconf"

	# As root without -u it must refuse rather than serve.
	out=$(timeout -k 5 15 /usr/sbin/claude-proxy -c "$testconf" -p 0 \
	    -l 127.0.0.1 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] &&
	    printf '%s' "$out" | grep -q 'root'; then
		ok "as root without -u it refuses to serve (exit $rc)"
	else
		not_ok "as root without -u it refuses to serve (exit $rc)"
		printf '%s\n' "$out" | tail -n 5 | diag
	fi

	/usr/sbin/claude-proxy -c "$testconf" -u claude-proxy -p 0 \
	    -l 127.0.0.1 2>"$work/proxy.log" &
	proxy_pid=$!
	listening() {
		grep -q 'listening on 127\.0\.0\.1:[0-9]' "$work/proxy.log" ||
		    dead "$proxy_pid"
	}
	wait_for 15 listening
	proxy_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
	    "$work/proxy.log" | head -n 1)
	if [ -n "$proxy_port" ] && alive "$proxy_pid"; then
		ok "installed binary started as root with -u claude-proxy listens on 127.0.0.1:$proxy_port"
	else
		not_ok "installed binary starts with -u claude-proxy -p 0 -l 127.0.0.1"
		tail -n 20 "$work/proxy.log" | diag
		proxy_port=
	fi
fi

if [ -n "$proxy_port" ]; then
	base=http://127.0.0.1:$proxy_port
	check "GET / answers the health document" python3 - "$base/" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    body = json.load(r)
    assert r.status == 200, r.status
assert body == {"message": "claude-proxy", "health": "ok"}, body
EOF

	check "POST /v1/messages is translated both ways" \
	    python3 - "$base/v1/messages" "$work/upstream.jsonl" <<'EOF'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], method="POST",
    headers={"content-type": "application/json",
             "anthropic-version": "2023-06-01"},
    data=json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64,
                     "messages": [{"role": "user",
                                   "content": "say hello"}]}).encode())
with urllib.request.urlopen(req, timeout=30) as r:
    assert r.status == 200, r.status
    got = json.load(r)
print("client got:", json.dumps(got))
assert got.get("type") == "message", got
assert got.get("role") == "assistant", got
assert got.get("content") == [{"type": "text",
                               "text": "hello from the fake upstream"}], got
assert got.get("stop_reason") == "end_turn", got
records = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(records) == 1, records
up = records[0]
print("upstream got:", json.dumps(up))
assert up["path"] == "/v1/chat/completions", up["path"]
assert up["authorization"] == "Bearer upstream-test-key", up["authorization"]
assert up["body"]["model"] == "fake-remote-model", up["body"]["model"]
last = up["body"]["messages"][-1]
assert last["role"] == "user" and last["content"] in (
    "say hello", [{"type": "text", "text": "say hello"}]), last
EOF

	# user:32, as plain "user" cuts names longer than 8 characters.
	master_user=$(ps -o user:32= -p "$proxy_pid" | tr -d ' ')
	workers=$(ps -o pid=,user:32=,args= --ppid "$proxy_pid")
	worker_pids=$(printf '%s\n' "$workers" | awk 'NF { print $1 }')
	nworkers=$(printf '%s\n' "$workers" | awk 'NF' | wc -l)
	nbad=$(printf '%s\n' "$workers" | awk 'NF && $2 != "claude-proxy"' | wc -l)
	if [ "$nworkers" -ge 1 ] && [ "$nbad" -eq 0 ]; then
		ok "all $nworkers workers run as claude-proxy"
	else
		not_ok "workers run as claude-proxy"
		printf '%s\n' "$workers" | diag
	fi
	if [ "$master_user" = claude-proxy ]; then
		ok "the master runs as claude-proxy after binding"
	else
		not_ok "the master runs as claude-proxy after binding (got '$master_user')"
	fi

	kill -TERM "$proxy_pid"
	if wait_for 45 dead "$proxy_pid"; then
		wait "$proxy_pid"
		rc=$?
		proxy_pid=
		if [ "$rc" -eq 0 ]; then
			ok "SIGTERM stops it, exit status 0"
		else
			not_ok "SIGTERM stops it, exit status 0 (got $rc)"
			tail -n 10 "$work/proxy.log" | diag
		fi
		left=
		for p in $worker_pids; do
			alive "$p" && left="$left $p"
		done
		if [ -z "$left" ]; then
			ok "no worker outlives the master"
		else
			not_ok "no worker outlives the master (left:$left)"
		fi
	else
		not_ok "SIGTERM stops it within 45 s"
		kill -KILL "$proxy_pid" 2>/dev/null
		tail -n 10 "$work/proxy.log" | diag
	fi
elif [ "$installed" = 1 ]; then
	for d in "GET /" "POST /v1/messages" "workers' user" "master's user" \
	    "SIGTERM"; do
		skip "$d" "the daemon did not start"
	done
fi
if [ -n "$upstream_pid" ]; then
	kill -TERM "$upstream_pid" 2>/dev/null
	wait "$upstream_pid" 2>/dev/null
	upstream_pid=
fi

# --- 5. Reinstalled over an edited configuration, then purged ------------------------
if [ "$installed" = 1 ]; then
	sed -i 's/"port": 8888/"port": 8899/' "$config"
	if timeout 300 dpkg -i "$deb" >"$work/dpkg-re.log" 2>&1 &&
	    grep -q '"port": 8899' "$config" &&
	    [ "$(stat -c '%U:%G %a' "$config")" = "root:claude-proxy 640" ]; then
		ok "reinstalling keeps the edited conffile, root:claude-proxy 0640"
	else
		not_ok "reinstalling keeps the edited conffile, root:claude-proxy 0640"
		{ tail -n 10 "$work/dpkg-re.log"; stat -c '%U:%G %a' "$config"
		  grep '"port"' "$config"; } 2>&1 | diag
	fi

	if timeout 300 dpkg --purge claude-proxy >"$work/purge.log" 2>&1; then
		ok "dpkg --purge removes the package"
	else
		not_ok "dpkg --purge removes the package"
		tail -n 20 "$work/purge.log" | diag
	fi
	left=
	for f in $installed_files /etc/claude-proxy \
	    /usr/lib/systemd/system/claude-proxy.service \
	    /usr/share/doc/claude-proxy \
	    /etc/systemd/system/multi-user.target.wants/claude-proxy.service \
	    /var/lib/systemd/deb-systemd-helper-enabled/claude-proxy.service.dsh-also \
	    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/claude-proxy.service; do
		{ [ -e "$f" ] || [ -L "$f" ]; } && left="$left $f"
	done
	if [ -z "$left" ]; then
		ok "nothing is left after purge"
	else
		not_ok "nothing is left after purge (left:$left)"
	fi
	status=$(dpkg-query -W -f='${db:Status-Status}' claude-proxy 2>/dev/null)
	if [ -z "$status" ] || [ "$status" = not-installed ]; then
		ok "dpkg no longer knows the package"
	else
		not_ok "dpkg no longer knows the package (status $status)"
	fi
	installed_by_us=0
else
	skip "dpkg --purge" "package not installed"
fi

# --- 6. The .rpm --------------------------------------------------------------------
rpmfile=
if timeout 1800 "$src/packaging/rpm/build-rpm.sh" -s "$src" \
    -o "$work/dist" >"$work/rpm-build.log" 2>&1; then
	rpmfile=$(tail -n 1 "$work/rpm-build.log")
fi
if [ -n "$rpmfile" ] && [ -f "$rpmfile" ]; then
	ok "build-rpm.sh builds $(basename "$rpmfile")"
else
	not_ok "build-rpm.sh builds an .rpm"
	tail -n 40 "$work/rpm-build.log" | diag
	rpmfile=
fi

if [ -n "$rpmfile" ]; then
	rpm -qlp "$rpmfile" >"$work/rpm-files" 2>&1
	diag <"$work/rpm-files"
	for re in '/usr/sbin/claude-proxy' \
	    '/usr/share/man/man8/claude-proxy\.8(\.gz|\.xz|\.bz2)?' \
	    '/usr/share/man/man5/claude-proxy\.json\.5(\.gz|\.xz|\.bz2)?' \
	    '/usr/lib/systemd/system/claude-proxy\.service' \
	    '/usr/lib/sysusers\.d/claude-proxy\.conf' \
	    '/etc/logrotate\.d/claude-proxy' \
	    '/etc/claude-proxy/config\.json'; do
		check "rpm -qlp lists $re" grep -Eqx "$re" "$work/rpm-files"
	done
	attrs=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' \
	    "$rpmfile" | awk '$NF == "/etc/claude-proxy/config.json"')
	case $attrs in
	"-rw-r----- root:claude-proxy "*c*n*" /etc/claude-proxy/config.json")
		ok "rpm: config.json is %config(noreplace) 0640 root:claude-proxy" ;;
	*)
		not_ok "rpm: config.json is %config(noreplace) 0640 root:claude-proxy (got '$attrs')" ;;
	esac
	check "rpm: %pre creates the claude-proxy user" sh -c \
	    "rpm -qp --scripts '$rpmfile' | grep -q claude-proxy"
	# a license file marked %license (rpm -qL), the same as the tree's
	# (Fedora's licence directory is claude-proxy, older rpm's
	# claude-proxy-VERSION)
	lic=$(rpm -qpL "$rpmfile" 2>/dev/null)
	case $lic in
	/usr/share/licenses/claude-proxy/LICENSE | \
	/usr/share/licenses/claude-proxy-[0-9]*/LICENSE) ;;
	*) lic= ;;
	esac
	if [ -n "$lic" ] &&
	    rpm2cpio "$rpmfile" | cpio -i --quiet --to-stdout ".$lic" 2>/dev/null |
	    cmp -s - "$src/LICENSE" && grep -q '^MIT License' "$src/LICENSE"; then
		ok "rpm: %license ships LICENSE (MIT)"
	else
		not_ok "rpm: %license ships LICENSE (MIT) (rpm -qL: '$lic')"
	fi
	url=$(rpm -qp --qf '%{URL}' "$rpmfile" 2>/dev/null)
	case $url in
	https://*) ok "rpm: URL tag ($url)" ;;
	*) not_ok "rpm: URL tag (got '$url')" ;;
	esac

	# The same files as the .deb, modulo distribution conventions: Debian's
	# units live in /lib, man pages are compressed differently, docs,
	# lintian overrides and build-id links are each distribution's own.
	if [ -n "$deb" ]; then
		norm() {
			sed -e 's|^\./|/|' -e 's|^/lib/systemd/|/usr/lib/systemd/|' \
			    -e 's/\.\(gz\|xz\|bz2\)$//' |
			    grep -v -e '^/usr/share/doc/' -e '^/usr/lib/\.build-id' \
			    -e '^/usr/share/lintian/' -e '^/usr/share/licenses/' |
			    sort -u
		}
		dpkg-deb --fsys-tarfile "$deb" | tar -tvf - |
		    awk '$1 !~ /^d/ { print $NF }' | norm >"$work/deb-norm"
		rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpmfile" |
		    awk '$1 !~ /^d/ { print $2 }' | norm >"$work/rpm-norm"
		if diff -u "$work/deb-norm" "$work/rpm-norm" >"$work/norm.diff"; then
			ok "the .rpm ships the same files as the .deb ($(wc -l <"$work/deb-norm") files)"
		else
			not_ok "the .rpm ships the same files as the .deb"
			diag <"$work/norm.diff"
		fi
	else
		skip "the .rpm ships the same files as the .deb" "no .deb"
	fi
else
	skip "rpm -qlp lists the package's files" "no .rpm"
fi

finish
