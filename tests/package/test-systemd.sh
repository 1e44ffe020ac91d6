#!/bin/bash
# test-systemd.sh: the .deb as a service under a real systemd, on a minimal
# Debian 12, in a systemd-nspawn container. Prints TAP and exits non-zero
# when a check fails; prints one "# SKIP" line and exits 0 when the
# container cannot run here. Root only.
#
# What it proves (issue 10, items 15-18): the package installs on a
# minbase Debian (no procps, so no /bin/kill) and the service starts and
# reaches active; "systemctl reload" works there and a new generation
# serves the new configuration; a failed reload is logged at priority
# warning and stays in "systemctl status" until a good reload; stderr lines
# carry their priority for journald; the daemon started with -D logs to
# syslog with the right priorities; "systemctl stop" is clean; a bad
# configuration at start exits 78 and is not restarted (NRestarts stays 0).
#
# The container's root is debootstrapped once (about 3 minutes) and cached
# in $CP_SYSTEMD_CACHE (default /var/cache/claude-proxy-test); each run
# works on a copy of it (about 250 MB), so the cache stays clean.
#
# Environment: CP_SOURCE_DIR     the tree to package (default: this checkout)
#              CP_DEB            use this .deb instead of building one
#              CP_SYSTEMD_CACHE  where the cached root lives
#              CP_NO_APT=1       install nothing; skip what is missing
#              CP_KEEP=1         keep the work directory (root copy, logs)
# shellcheck disable=SC2317 # cleanup and the like: called by trap
# shellcheck disable=SC2016 # $(...) in single quotes: expanded in the container
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${CP_SOURCE_DIR:-$here/../..}" && pwd)
cache=${CP_SYSTEMD_CACHE:-/var/cache/claude-proxy-test}
suite=bookworm
# what the cached root holds: the package's run-time libraries are there so
# that installing the .deb needs no network
include=systemd,systemd-sysv,dbus,curl,libcurl4,libjson-c5,libbsd0
base=$cache/$suite-minbase

# --- TAP ---------------------------------------------------------------------
# shellcheck source=tests/package/tap.sh
. "$here/tap.sh"
skip_all() {	# the container cannot run here: say why, fail nothing
	skip "the service under systemd in a container" "$1"
	finish
}
bail() {	# the test itself cannot go on
	not_ok "$1"
	[ -f "${2:-}" ] && tail -n 30 "$2" | diag
	finish
}

[ "$(id -u)" -eq 0 ] || skip_all "needs root (debootstrap, systemd-nspawn)"

# --- 1. Tools ---------------------------------------------------------------------
need_pkgs=
command -v debootstrap >/dev/null 2>&1 || need_pkgs="$need_pkgs debootstrap"
command -v systemd-nspawn >/dev/null 2>&1 || need_pkgs="$need_pkgs systemd-container"
command -v nsenter >/dev/null 2>&1 || need_pkgs="$need_pkgs util-linux"
if [ -z "${CP_DEB:-}" ]; then
	for p in build-essential debhelper dpkg-dev fakeroot meson ninja-build \
	    pkg-config libcurl4-openssl-dev libjson-c-dev libbsd-dev; do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null |
		    grep -q '^installed$' || need_pkgs="$need_pkgs $p"
	done
fi
if [ -n "$need_pkgs" ]; then
	[ "${CP_NO_APT:-0}" = 1 ] && skip_all "missing:$need_pkgs (CP_NO_APT=1)"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if timeout 1200 apt-get install -y --no-install-recommends $need_pkgs \
	    >/tmp/claude-proxy-systemd-apt.log 2>&1 ||
	    { timeout 600 apt-get update >>/tmp/claude-proxy-systemd-apt.log 2>&1 &&
	    timeout 1200 apt-get install -y --no-install-recommends $need_pkgs \
	    >>/tmp/claude-proxy-systemd-apt.log 2>&1; }; then
		ok "installed:$need_pkgs"
	else
		tail -n 20 /tmp/claude-proxy-systemd-apt.log | diag
		skip_all "cannot install$need_pkgs"
	fi
fi

# --- 2. Work directory, cleanup ------------------------------------------------------
work=$(mktemp -d /var/tmp/claude-proxy-systemd.XXXXXX)
root=$work/root
nspawn_pid=
cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		# nspawn turns SIGTERM into an orderly poweroff of the container
		kill -TERM "$nspawn_pid" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$nspawn_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$nspawn_pid" 2>/dev/null
		wait "$nspawn_pid" 2>/dev/null
	fi
	if [ "${CP_KEEP:-0}" = 1 ]; then
		echo "# work directory kept: $work"
	elif [ -z "$(findmnt -rno TARGET -R "$root" 2>/dev/null)" ]; then
		rm -rf "$work"
	else
		echo "# $root still has mounts: left in place"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 3. The container's root, cached ---------------------------------------------------
mirror() {	# the Debian mirror apt uses here, else the default one
	local m
	m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null |
	    grep -v -e security -e '^$' | head -n 1)
	[ -n "$m" ] || m=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\)[[:space:]]\+[a-z]*[[:space:]].*/\2/p' \
	    /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1)
	echo "${m:-http://deb.debian.org/debian}"
}
if [ ! -f "$base/.claude-proxy-root" ] ||
    [ "$(cat "$base/.claude-proxy-root")" != "$include" ]; then
	mkdir -p "$cache"
	rm -rf "$base" "$base.tmp"
	t0=$(date +%s)
	if timeout 1800 debootstrap --variant=minbase --include="$include" \
	    "$suite" "$base.tmp" "$(mirror)" >"$work/debootstrap.log" 2>&1 &&
	    echo "$include" >"$base.tmp/.claude-proxy-root" &&
	    mv "$base.tmp" "$base"; then
		ok "debootstrap a minbase $suite root into $base ($(($(date +%s) - t0)) s, cached)"
	else
		rm -rf "$base.tmp"
		bail "debootstrap a minbase $suite root" "$work/debootstrap.log"
	fi
fi
if ! cp -a "$base" "$root"; then
	bail "copy the cached root to $root"
fi

# --- 4. The package, installed in the root -------------------------------------------
deb=${CP_DEB:-}
if [ -z "$deb" ]; then
	if timeout 1800 "$src/packaging/debian/build-deb.sh" -s "$src" \
	    -o "$work/dist" >"$work/deb-build.log" 2>&1; then
		deb=$(tail -n 1 "$work/deb-build.log")
	fi
	if [ -z "$deb" ] || [ ! -f "$deb" ]; then
		bail "build-deb.sh builds a .deb" "$work/deb-build.log"
	fi
	ok "build-deb.sh builds $(basename "$deb")"
fi
cp "$deb" "$root/tmp/claude-proxy.deb"
if chroot "$root" dpkg-query -W procps >/dev/null 2>&1 ||
    [ -e "$root/bin/kill" ] || [ -e "$root/usr/bin/kill" ]; then
	not_ok "the root is minimal: no procps, no kill executable"
else
	ok "the root is minimal: no procps, no kill executable"
fi
# installing starts nothing (systemd does not run in the chroot); the
# unit is enabled and starts when the container boots
if chroot "$root" dpkg -i /tmp/claude-proxy.deb >"$work/dpkg.log" 2>&1 ||
    { chroot "$root" apt-get update >>"$work/dpkg.log" 2>&1 &&
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -f install -y \
    >>"$work/dpkg.log" 2>&1; }; then
	ok "the .deb installs on minbase $suite (no procps pulled in)"
else
	bail "the .deb installs on minbase $suite" "$work/dpkg.log"
fi
check "installing it pulled no procps in" sh -c \
    "! chroot '$root' dpkg-query -W -f='\${db:Status-Status}' procps 2>/dev/null | grep -q installed"

# --- 5. Boot ----------------------------------------------------------------------------
systemd-nspawn -b -D "$root" --register=no --keep-unit --private-network \
    --console=pipe >"$work/console.log" 2>&1 </dev/null &
nspawn_pid=$!
leader=
for _ in $(seq 1 100); do
	leader=$(pgrep -P "$nspawn_pid" -x systemd | head -n 1)
	[ -n "$leader" ] && break
	kill -0 "$nspawn_pid" 2>/dev/null || break
	sleep 0.2
done
if [ -z "$leader" ]; then
	tail -n 20 "$work/console.log" | diag
	nspawn_pid=
	skip_all "systemd-nspawn cannot boot a container here"
fi
# ct CMD...: run CMD inside the container, bounded
ct() { timeout 90 nsenter -t "$leader" -a "$@"; }
# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds
wait_for() {
	local tries=$(($1 * 5))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		tries=$((tries - 1))
	done
	return 1
}
# systemctl needs the manager's socket, which comes a moment after boot
wait_for 60 ct test -S /run/systemd/private
state=$(ct systemctl is-system-running --wait 2>&1)
case $state in
running|degraded) ok "the container's systemd is up ($state)" ;;
*) not_ok "the container's systemd is up (got '$state')"
   ct systemctl --failed --no-pager 2>&1 | diag ;;
esac

prop() { ct systemctl show -p "$1" --value claude-proxy.service; }
active() { [ "$(prop ActiveState)" = active ]; }
journal() { ct journalctl --no-pager -o cat "$@"; }
config=$root/etc/claude-proxy/config.json
cp -p "$config" "$work/config.shipped"

# --- 6. The service ----------------------------------------------------------------------
if wait_for 30 active; then
	ok "claude-proxy.service started at boot and is active"
else
	not_ok "claude-proxy.service started at boot and is active ($(prop ActiveState)/$(prop SubState))"
	journal -u claude-proxy | tail -n 20 | diag
fi
check "it answers GET / inside the container" sh -c \
    "timeout 90 nsenter -t '$leader' -a curl -sf http://127.0.0.1:8888/ | grep -q '\"health\":\"ok\"'"
# a stderr line at info does not pass -p warning: the priority is read
check "the start-up line is logged at priority info, not warning" sh -c "
	timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat -u claude-proxy -p info | grep -q 'listening on' &&
	! timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat -u claude-proxy -p warning | grep -q 'listening on'"

# reload on minbase: the unit's ExecReload must not need /bin/kill
sed 's/"id": "qwen2.5-coder",/"id": "reloaded-model",/' "$work/config.shipped" >"$config"
if out=$(ct systemctl reload claude-proxy 2>&1); then
	ok "systemctl reload succeeds without procps"
else
	not_ok "systemctl reload succeeds without procps"
	{ printf '%s\n' "$out"; ct systemctl status --no-pager claude-proxy; } 2>&1 | tail -n 20 | diag
fi
models() { ct curl -sf http://127.0.0.1:8888/v1/models; }
if wait_for 15 sh -c "timeout 90 nsenter -t '$leader' -a curl -sf http://127.0.0.1:8888/v1/models | grep -q reloaded-model"; then
	ok "after the reload a new generation serves the new model list"
else
	not_ok "after the reload a new generation serves the new model list"
	{ models; journal -u claude-proxy | tail -n 10; } 2>&1 | diag
fi
check "the reload is logged (generation 1)" sh -c \
    "timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat -u claude-proxy | grep -q 'configuration reloaded: generation 1'"

# a failed reload: at priority warning, and ct systemctl status until a good one
sed 's/"workers": 0,/"workers": "many",/' "$work/config.shipped" >"$config"
ct systemctl reload claude-proxy >/dev/null 2>&1
if wait_for 15 sh -c "timeout 90 nsenter -t '$leader' -a systemctl show -p StatusText --value claude-proxy | grep -q 'reload failed: .*workers'"; then
	ok "a failed reload shows in the unit's status text"
else
	not_ok "a failed reload shows in the unit's status text (got '$(prop StatusText)')"
fi
check "journalctl -p warning shows the failed reload and its reason" sh -c \
    "timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat -u claude-proxy -p warning | grep -q 'reload failed.*workers: expected integer'"
# the daemon's periodic STATUS= comes every 5 s: look after two of them
sleep 11
st=$(prop StatusText)
case $st in
"reload failed: "*workers*) ok "11 s later systemctl status still shows the failed reload" ;;
*) not_ok "11 s later systemctl status still shows the failed reload (got '$st')" ;;
esac
check "... in systemctl status itself" sh -c \
    "timeout 90 nsenter -t '$leader' -a systemctl status --no-pager claude-proxy | grep -q 'reload failed'"
check "the service is still active, serving the configuration before" sh -c \
    "[ \"\$(timeout 90 nsenter -t '$leader' -a systemctl is-active claude-proxy)\" = active ] &&
	timeout 90 nsenter -t '$leader' -a curl -sf http://127.0.0.1:8888/v1/models | grep -q reloaded-model"
cp "$work/config.shipped" "$config"
ct systemctl reload claude-proxy >/dev/null 2>&1
if wait_for 15 sh -c "timeout 90 nsenter -t '$leader' -a curl -sf http://127.0.0.1:8888/v1/models | grep -q qwen2.5-coder" &&
    wait_for 10 sh -c "! timeout 90 nsenter -t '$leader' -a systemctl show -p StatusText --value claude-proxy | grep -q fail"; then
	ok "a good reload clears the failure from the status ($(prop StatusText))"
else
	not_ok "a good reload clears the failure from the status (got '$(prop StatusText)')"
fi

# stop
pid=$(prop MainPID)
if ct systemctl stop claude-proxy >/dev/null 2>&1 &&
    [ "$(prop ActiveState)" = inactive ] && [ "$(prop Result)" = success ] &&
    [ "$(prop ExecMainStatus)" = 0 ]; then
	ok "systemctl stop: inactive, result success, exit status 0"
else
	not_ok "systemctl stop: inactive, result success, exit status 0 (got $(prop ActiveState) $(prop Result) $(prop ExecMainStatus))"
fi
check "the stop is logged, and no worker was killed" sh -c "
	timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat -u claude-proxy _PID=$pid | grep -q '^master\[$pid\]: stopped' &&
	! timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat -u claude-proxy | grep -q 'killing'"

# a bad configuration at start: exit 78, no restart loop
sed 's/"port": 8888,/"port": "eighty",/' "$work/config.shipped" >"$config"
ct systemctl reset-failed claude-proxy >/dev/null 2>&1
if ct systemctl start claude-proxy >/dev/null 2>&1; then
	not_ok "systemctl start fails on a bad configuration"
else
	ok "systemctl start fails on a bad configuration"
fi
# RestartSec=2s: three periods are plenty for a restart to show
sleep 6
nr=$(prop NRestarts) es=$(prop ExecMainStatus) as=$(prop ActiveState)
if [ "$es" = 78 ] && [ "$nr" = 0 ] && [ "$as" = failed ]; then
	ok "exit status 78, not restarted (NRestarts=0, failed)"
else
	not_ok "exit status 78, not restarted (got ExecMainStatus=$es NRestarts=$nr ActiveState=$as)"
	journal -u claude-proxy | tail -n 10 | diag
fi
check "journalctl -p err shows the configuration error, naming the key" sh -c \
    "timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat -u claude-proxy -p err | grep -q 'claude-proxy: .*config.json.*port\|port: expected integer'"
cp -p "$work/config.shipped" "$config"
ct systemctl reset-failed claude-proxy >/dev/null 2>&1

# -D: syslog, with the priorities of the log functions
cat >"$root/etc/claude-proxy-D.json" <<'EOF'
{ "workers": 1, "providers": [ { "base_url": "http://127.0.0.1:9", "api_key": "",
  "models": [ { "id": "m" } ] } ] }
EOF
chmod 0644 "$root/etc/claude-proxy-D.json"
if ct /usr/sbin/claude-proxy -D -u nobody -c /etc/claude-proxy-D.json -p 0 \
    -l 127.0.0.1 -P /run/claude-proxy-D.pid --syslog-facility local0 \
    >"$work/daemon-D.log" 2>&1 &&
    wait_for 10 ct test -s /run/claude-proxy-D.pid; then
	ok "claude-proxy -D starts (pid $(ct cat /run/claude-proxy-D.pid))"
	echo '{ "workers": "many" }' >"$root/etc/claude-proxy-D.json"
	ct sh -c 'kill -HUP "$(cat /run/claude-proxy-D.pid)"'
	syslog() { ct journalctl --no-pager -o cat _TRANSPORT=syslog SYSLOG_IDENTIFIER=claude-proxy "$@"; }
	if wait_for 10 sh -c "timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat _TRANSPORT=syslog SYSLOG_IDENTIFIER=claude-proxy -p warning | grep -q 'reload failed'"; then
		ok "-D: a failed reload reaches syslog at priority warning"
	else
		not_ok "-D: a failed reload reaches syslog at priority warning"
		syslog -o short | tail -n 10 | diag
	fi
	check "-D: the start-up line is at priority info, not warning" sh -c "
		timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat _TRANSPORT=syslog SYSLOG_IDENTIFIER=claude-proxy -p info | grep -q 'listening on' &&
		! timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o cat _TRANSPORT=syslog SYSLOG_IDENTIFIER=claude-proxy -p warning | grep -q 'listening on'"
	check "-D: facility local0" sh -c \
	    "timeout 90 nsenter -t '$leader' -a journalctl --no-pager -o export _TRANSPORT=syslog SYSLOG_IDENTIFIER=claude-proxy | grep -qx 'SYSLOG_FACILITY=16'"
	ct sh -c 'kill -TERM "$(cat /run/claude-proxy-D.pid)"'
	check "-D: SIGTERM stops it" wait_for 20 sh -c \
	    "! timeout 90 nsenter -t '$leader' -a test -s /run/claude-proxy-D.pid"
else
	not_ok "claude-proxy -D starts"
	diag <"$work/daemon-D.log"
fi

finish
