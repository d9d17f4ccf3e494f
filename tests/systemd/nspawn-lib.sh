# shellcheck shell=bash
# nspawn-lib.sh: boot a Debian tree (made by ./make-tree) with a real systemd
# as PID 1 under systemd-nspawn, run commands in it, copy files in and out,
# and always shut it down again.
#
# Source it from a bash script:
#
#   . "$(dirname "$0")/nspawn-lib.sh"
#   ct_boot "$tree"                 # boots, waits for running/degraded, sets a trap
#   ct_exec systemctl is-system-running
#   ct_copy_in ./userd_1.0_amd64.deb /tmp/userd.deb
#   ct_exec dpkg -i /tmp/userd.deb
#   ct_apt_install /tmp/userd-deb/repo userd libmicrohttpd12
#   ct_sh 'curl -fsS http://127.0.0.1:8080/ | head'
#   ct_stop                         # optional: the trap does it on exit too
#
# Works without systemd on the host and without systemd-machined: the
# container is started with --register=no --keep-unit, so `machinectl`,
# `systemd-run -M` and `systemctl -M` cannot reach it.  Instead, commands
# enter the namespaces of the container's PID 1 ("the leader") with nsenter.
#
# Only one container per sourcing shell at a time (state is in CT_* globals).
#
# Tunables (environment, read when the functions run):
#   CT_MODE           how the tree is kept pristine (default ephemeral):
#                     ephemeral  --ephemeral: nspawn copies the whole tree
#                                (~170 MB, no reflinks on ext4) next to it
#                                first: boot 3-10 s depending on load
#                     overlay    --volatile=overlay: overlayfs with a tmpfs
#                                upper over the read-only tree: no copy,
#                                boot ~0.5-2 s, nothing left on disk
#                     Both throw every change away at shutdown and allow
#                     several containers of one tree at once.
#   CT_BOOT_TIMEOUT   seconds to wait for running/degraded (default 90)
#   CT_STOP_TIMEOUT   seconds to wait for a clean poweroff before SIGKILL
#                     (default 30)
#   CT_EXEC_TIMEOUT   seconds any single ct_exec may take (default 300)
#   CT_NO_TRAP=1      do not let ct_boot install the EXIT/INT/TERM trap
#                     (then the caller must call ct_stop itself)
#   CT_KEEP_LOG=1     keep the console log file after ct_stop
#   CT_STATE_DIR      where running containers are recorded, so that a later
#                     ct_boot can reap those whose owner died without
#                     cleaning up, e.g. by SIGKILL (default /run/userd-test)
#
# State set by ct_boot (read-only for callers):
#   CT_MACHINE  machine name (also the container's hostname)
#   CT_PID      host PID of the systemd-nspawn process
#   CT_LEADER   host PID of the container's PID 1 (systemd)
#   CT_LOG      file holding the container console output
#   CT_SNAPSHOT host path of the --ephemeral copy of the tree (if found)
#   CT_BOOT_MS  milliseconds from ct_boot's start to running/degraded

CT_MACHINE=""
CT_PID=""
CT_LEADER=""
CT_LOG=""
CT_SNAPSHOT=""
CT_BOOT_MS=""

# PATH used for commands run inside the container (the host's PATH may name
# directories that do not exist there).
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

_ct_log() { printf 'nspawn-lib: %s\n' "$*" >&2; }

# Milliseconds since the epoch (bash 5 EPOCHREALTIME), for timing reports.
_ct_now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    printf '%s\n' "${t%???}"
}

# Print the last lines of the console log, to explain a failure.
ct_dump_log() {
    local n=${1:-40}
    if [[ -n $CT_LOG && -s $CT_LOG ]]; then
        _ct_log "---- last $n lines of the container console ($CT_LOG) ----"
        tail -n "$n" "$CT_LOG" >&2
        _ct_log "---- end of console ----"
    fi
}

# Is the systemd-nspawn process still alive?
_ct_nspawn_alive() {
    [[ -n $CT_PID ]] && kill -0 "$CT_PID" 2>/dev/null
}

# Find the container leader: the direct child of systemd-nspawn that is PID 1
# in its own PID namespace (last field of NSpid is 1).  Prints its host PID.
_ct_find_leader() {
    local status pid ppid nspid
    for status in /proc/[0-9]*/status; do
        ppid=$(awk '/^PPid:/ {print $2}' "$status" 2>/dev/null) || continue
        [[ $ppid == "$CT_PID" ]] || continue
        nspid=$(awk '/^NSpid:/ {print $NF}' "$status" 2>/dev/null) || continue
        if [[ $nspid == 1 ]]; then
            pid=${status#/proc/}
            printf '%s\n' "${pid%/status}"
            return 0
        fi
    done
    return 1
}

# Host path of the --ephemeral snapshot ("<parent>/.#machine.<name><hex>"),
# taken from the file descriptors systemd-nspawn holds open while it copies
# the tree and from the root mount of the leader once it runs.  Knowing it
# lets ct_stop remove a partial copy when nspawn is killed mid-copy (nspawn
# does not clean up after itself then).
_ct_find_snapshot() {
    local tree=$1 prefix fd target root
    prefix="$(dirname "$tree")/.#machine.$(basename "$tree")"
    for fd in "/proc/$CT_PID/fd/"*; do
        target=$(readlink "$fd" 2>/dev/null) || continue
        if [[ $target == "$prefix"* && $target != *.lck ]]; then
            # Could be a file inside the copy: keep the top directory only.
            target=${target#"$prefix"}
            printf '%s%s\n' "$prefix" "${target%%/*}"
            return 0
        fi
    done
    if [[ -n $CT_LEADER ]]; then
        root=$(awk '$5 == "/" {print $4; exit}' \
               "/proc/$CT_LEADER/mountinfo" 2>/dev/null)
        if [[ $root == "$prefix"* && -d $root ]]; then
            printf '%s\n' "$root"
        fi
    fi
    return 0
}

# Remove an ephemeral snapshot left behind, and its lock file.
_ct_remove_snapshot() {
    local snap=$1
    [[ -n $snap && $(basename "$snap") == .#machine.* ]] || return 0
    if [[ -e $snap ]]; then
        _ct_log "removing leftover snapshot $snap"
        rm -rf --one-file-system "$snap"
    fi
    rm -f "$(dirname "$snap")/.#$(basename "$snap").lck"
}

# ct_boot TREE [EXTRA_NSPAWN_ARGS...]
#   Boot TREE ephemerally (changes are thrown away) with systemd as PID 1,
#   private network (loopback only), and wait until the system is running or
#   degraded.  Returns non-zero (after cleaning up) when it is not within
#   CT_BOOT_TIMEOUT seconds.  Unless CT_NO_TRAP=1, installs a trap so that the
#   container is stopped when the calling shell exits or is interrupted.
ct_boot() {
    local tree=${1:?usage: ct_boot TREE [nspawn args...]}
    shift
    local timeout=${CT_BOOT_TIMEOUT:-90} start=$SECONDS state=""
    local start_ms
    start_ms=$(_ct_now_ms)

    if [[ -n $CT_PID ]]; then
        _ct_log "a container is already running (pid $CT_PID)"
        return 1
    fi
    # Absolute and symlink-free, as nspawn names its snapshot after it.
    tree=$(realpath -- "$tree") || return 1
    if [[ ! -x $tree/usr/lib/systemd/systemd ]]; then
        _ct_log "$tree does not look like a bootable tree (run make-tree)"
        return 1
    fi

    ct_reap_stale

    # Unique, valid hostname (<= 64 chars): userd-test-<pid>-<random>.
    CT_MACHINE="userd-test-$$-$RANDOM"
    CT_LOG=$(mktemp "/tmp/$CT_MACHINE.console.XXXXXX")

    if [[ ${CT_NO_TRAP:-0} != 1 ]]; then
        trap 'ct_stop' EXIT
        trap 'ct_stop; exit 130' INT
        trap 'ct_stop; exit 143' TERM
    fi

    # How the tree is kept pristine (see CT_MODE at the top).
    local mode_args
    case ${CT_MODE:-ephemeral} in
        ephemeral) mode_args=(--ephemeral) ;;
        overlay) mode_args=(--volatile=overlay) ;;
        *) _ct_log "CT_MODE must be ephemeral or overlay"; return 1 ;;
    esac

    # --keep-unit: there is no systemd on the host to make a scope for us.
    # --register=no: no systemd-machined on the host.
    # --console=read-only: console output goes to our log, no tty needed.
    # (A ^C that reaches nspawn itself makes it power the container off
    # cleanly, just like the trap does.)
    systemd-nspawn \
        --quiet \
        --directory="$tree" \
        "${mode_args[@]}" \
        --register=no \
        --keep-unit \
        --private-network \
        --machine="$CT_MACHINE" \
        --console=read-only \
        "$@" \
        --boot </dev/null >"$CT_LOG" 2>&1 &
    CT_PID=$!
    _ct_save_state
    _ct_log "booting $tree as $CT_MACHINE (nspawn pid $CT_PID, log $CT_LOG)"

    # 1. Wait for the leader (container PID 1) to exist.  Meanwhile nspawn
    #    copies the tree (--ephemeral on a non-btrfs file system).
    until CT_LEADER=$(_ct_find_leader); do
        if [[ -z $CT_SNAPSHOT ]]; then
            CT_SNAPSHOT=$(_ct_find_snapshot "$tree")
            if [[ -n $CT_SNAPSHOT ]]; then _ct_save_state; fi
        fi
        if ! _ct_nspawn_alive; then
            _ct_log "systemd-nspawn exited before the container started"
            ct_dump_log 40; ct_stop; return 1
        fi
        if ((SECONDS - start >= timeout)); then
            _ct_log "no container leader after ${timeout}s"
            ct_dump_log 40; ct_stop; return 1
        fi
        sleep 0.1
    done
    [[ -n $CT_SNAPSHOT ]] || CT_SNAPSHOT=$(_ct_find_snapshot "$tree")
    _ct_save_state

    # 2. Wait for systemd to finish booting.  Before PID 1 opens its private
    #    socket, systemctl fails at once: retry until the deadline.
    while :; do
        local left=$((timeout - (SECONDS - start)))
        if ((left <= 0)); then
            _ct_log "container not running/degraded after ${timeout}s" \
                    "(last state: ${state:-unknown})"
            ct_exec systemctl list-jobs --no-pager >&2 || true
            ct_dump_log 40; ct_stop; return 1
        fi
        if ! _ct_nspawn_alive; then
            _ct_log "systemd-nspawn exited while the container was booting"
            ct_dump_log 40; ct_stop; return 1
        fi
        state=$(CT_EXEC_TIMEOUT=$left ct_exec systemctl is-system-running \
                    --wait 2>/dev/null) || true
        case $state in
            running|degraded) break ;;
            *) sleep 0.2 ;;
        esac
    done
    CT_BOOT_MS=$(($(_ct_now_ms) - start_ms))
    _ct_log "container $CT_MACHINE is $state after ${CT_BOOT_MS} ms" \
            "(leader pid $CT_LEADER)"
    if [[ $state == degraded ]]; then
        _ct_log "failed units:"
        ct_exec systemctl --failed --no-pager --no-legend >&2 || true
    fi
    return 0
}

# ct_exec CMD [ARGS...]
#   Run CMD inside the booted container as root, with a clean environment,
#   in all of the leader's namespaces and root directory.  stdin, stdout and
#   stderr are passed through; the exit status is CMD's (124 on timeout).
#   Note: the process is not part of a unit (not in the container's cgroup
#   tree); use `ct_exec systemd-run --wait --pipe ...` when that matters.
ct_exec() {
    if [[ -z $CT_LEADER ]] || ! kill -0 "$CT_LEADER" 2>/dev/null; then
        _ct_log "ct_exec: no running container"
        return 125
    fi
    timeout --kill-after=5 "${CT_EXEC_TIMEOUT:-300}" \
        nsenter --target="$CT_LEADER" --mount --uts --ipc --net --pid \
                --cgroup --root --wd -- \
        env -i PATH="$CT_PATH" HOME=/root TERM=dumb LANG=C.UTF-8 \
            SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 "$@"
}

# ct_sh SCRIPT
#   Run a shell snippet inside the container: ct_sh 'curl -s 127.0.0.1:80/'
ct_sh() {
    ct_exec /bin/sh -c "$1"
}

# ct_copy_in HOST_FILE CONTAINER_PATH [MODE]
#   Copy a host file into the running container (parent directories are
#   created; MODE defaults to the source file's mode).  The data is streamed
#   through a command run inside, so the path is resolved by the container
#   itself (no /proc/PID/root symlink pitfalls).
ct_copy_in() {
    local src=${1:?usage: ct_copy_in HOST_FILE CONTAINER_PATH [MODE]}
    local dst=${2:?usage: ct_copy_in HOST_FILE CONTAINER_PATH [MODE]}
    local mode=${3:-}
    [[ -f $src ]] || { _ct_log "ct_copy_in: $src: not a file"; return 1; }
    [[ -n $mode ]] || mode=$(stat -c %a "$src")
    # shellcheck disable=SC2016  # $1/$2 expand inside the container's sh
    ct_exec /bin/sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1" &&
                        chmod "$2" "$1"' sh "$dst" "$mode" <"$src"
}

# ct_copy_out CONTAINER_PATH HOST_FILE
#   Copy a file from the running container to the host.
ct_copy_out() {
    local src=${1:?usage: ct_copy_out CONTAINER_PATH HOST_FILE}
    local dst=${2:?usage: ct_copy_out CONTAINER_PATH HOST_FILE}
    ct_exec /bin/cat "$src" >"$dst"
}

# ct_apt_install REPO PACKAGE...
#   Copy the flat apt repository REPO (a directory with Packages, Release
#   and the .debs: tests/package/check-package's $OUT_DIR/repo) into the
#   container as /srv/userd-apt, make it the only source apt updates from
#   ("deb [trusted=yes] file:/srv/userd-apt ./"; the container has no
#   network), and apt-get install PACKAGE...  Prints what was unpacked, or
#   apt's output when it fails.
ct_apt_install() {
    local repo=${1:?usage: ct_apt_install REPO PACKAGE...} f
    shift
    for f in "$repo"/*; do
        [[ -f $f ]] || continue
        ct_copy_in "$f" "/srv/userd-apt/$(basename "$f")" 0644 || return 1
    done
    # shellcheck disable=SC2016  # $@ expands inside the container's sh
    ct_exec /bin/sh -c 'chmod 755 /srv/userd-apt &&
        echo "deb [trusted=yes] file:/srv/userd-apt ./" >/etc/apt/sources.list.d/userd.list &&
        export DEBIAN_FRONTEND=noninteractive &&
        apt-get -q update -o Dir::Etc::SourceList=/etc/apt/sources.list.d/userd.list \
            -o Dir::Etc::SourceParts=- >/tmp/apt.log 2>&1 &&
        apt-get -q -y install "$@" >>/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
        grep -E "^(Unpacking|Setting up) " /tmp/apt.log' sh "$@"
}

# _ct_kill_container NSPAWN_PID LEADER_PID TIMEOUT
#   Orderly poweroff (SIGTERM to systemd-nspawn, which forwards it to PID 1
#   as a halt request), wait up to TIMEOUT seconds, then SIGKILL the leader
#   (which kills everything in its PID namespace) and nspawn.
_ct_kill_container() {
    local pid=$1 leader=$2 deadline=$((SECONDS + $3))
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null ||
       { [[ -n $leader ]] && kill -0 "$leader" 2>/dev/null; }; then
        _ct_log "container did not power off in ${3}s: killing it"
        [[ -n $leader ]] && kill -KILL "$leader" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
        deadline=$((SECONDS + 5))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
    fi
    return 0
}

# Record the running container in CT_STATE_DIR (see ct_reap_stale).
_ct_save_state() {
    local dir=${CT_STATE_DIR:-/run/userd-test}
    mkdir -p "$dir"
    printf 'nspawn=%s\nleader=%s\nsnapshot=%s\nlog=%s\n' \
        "$CT_PID" "$CT_LEADER" "$CT_SNAPSHOT" "$CT_LOG" >"$dir/$CT_MACHINE"
}

# ct_reap_stale
#   Stop containers recorded in CT_STATE_DIR whose owning shell (the PID in
#   the machine name userd-test-<pid>-<n>) is gone, e.g. a test killed with
#   SIGKILL, and remove their snapshots.  Each PID is checked to still be
#   that container's before it is signalled.  ct_boot calls this first.
ct_reap_stale() {
    local dir=${CT_STATE_DIR:-/run/userd-test} f name owner
    local nspawn leader snapshot log key value
    for f in "$dir"/userd-test-*; do
        [[ -f $f ]] || continue
        name=${f##*/}
        owner=${name#userd-test-}
        owner=${owner%%-*}
        kill -0 "$owner" 2>/dev/null && continue
        nspawn="" leader="" snapshot="" log=""
        while IFS='=' read -r key value; do
            case $key in
                nspawn) nspawn=$value ;;
                leader) leader=$value ;;
                snapshot) snapshot=$value ;;
                log) log=$value ;;
            esac
        done <"$f"
        # Guard against PID reuse: nspawn must still carry our machine name,
        # the leader must still be a PID 1 of its own namespace.
        if [[ -n $nspawn ]] &&
           ! tr '\0' ' ' <"/proc/$nspawn/cmdline" 2>/dev/null |
                grep -q -- "--machine=$name "; then
            nspawn=""
        fi
        if [[ -n $leader ]] &&
           [[ $(awk '/^NSpid:/ {print $NF}' "/proc/$leader/status" \
                2>/dev/null) != 1 ]]; then
            leader=""
        fi
        _ct_log "reaping stale container $name (owner $owner is gone)"
        if [[ -n $nspawn ]]; then
            _ct_kill_container "$nspawn" "$leader" 10
        elif [[ -n $leader ]]; then
            # nspawn is gone (SIGTERM to a PID 1 systemd would only make it
            # re-execute itself): kill the orphaned container outright.
            kill -KILL "$leader" 2>/dev/null
        fi
        _ct_remove_snapshot "$snapshot"
        if [[ $log == /tmp/"$name".console.* ]]; then rm -f "$log"; fi
        rm -f "$f"
    done
    return 0
}

# ct_stop
#   Shut the container down: orderly poweroff, waiting up to CT_STOP_TIMEOUT
#   seconds (default 30), then SIGKILL nspawn and the whole container.
#   Removes the ephemeral snapshot if nspawn could not.  Idempotent, always
#   returns 0, safe to call from a trap.
ct_stop() {
    local rc=0 start_ms
    start_ms=$(_ct_now_ms)
    if [[ -n $CT_PID ]]; then
        _ct_kill_container "$CT_PID" "$CT_LEADER" "${CT_STOP_TIMEOUT:-30}"
        # Reap it (it is our child) so no zombie is left.
        wait "$CT_PID" 2>/dev/null || rc=$?
        _ct_log "container $CT_MACHINE stopped in" \
                "$(($(_ct_now_ms) - start_ms)) ms (nspawn exit status $rc)"
        _ct_remove_snapshot "$CT_SNAPSHOT"
        if [[ ${CT_KEEP_LOG:-0} != 1 && -n $CT_LOG ]]; then
            rm -f "$CT_LOG"
        fi
        rm -f "${CT_STATE_DIR:-/run/userd-test}/$CT_MACHINE"
    fi
    CT_PID="" CT_LEADER="" CT_SNAPSHOT="" CT_MACHINE="" CT_LOG=""
    return 0
}
