#!/bin/bash
# Install deskphone as a systemd service on Raspberry Pi OS (bookworm or trixie).
#
#   sudo systemd/install.sh --board board-configs/<your board>.toml
#
# What it does, each step only when something is missing or different (running
# it twice changes nothing):
#   * apt-get installs baresip-core, kamailio (the SIP edge), python3-venv, the build tools python-evdev
#     needs, and python3-lgpio where the archive has it;
#   * creates the venv /opt/deskphone/venv (--system-site-packages, so the
#     Debian lgpio is used) and installs this source tree with the `pi` extra;
#   * creates the system user `deskphone` with the groups gpio i2c spi input
#     dialout audio (systemd-sysusers, /etc/sysusers.d/deskphone.conf);
#   * installs /etc/systemd/system/deskphone.service, /etc/deskphone/board.toml
#     (the board you chose) and an example /etc/deskphone/y000000000000.cfg
#     (never over a file that is there);
#   * turns on I2C, SPI and the UART in config.txt as the board needs them;
#   * enables and (re)starts the service.
#
# --root DIR installs into DIR instead of / (for CI and image builders): files,
# the user (systemd-sysusers --root) and the enable link (systemctl --root) go
# into DIR; the steps that can only act on the running system (apt-get, the
# venv and pip, starting the service) are printed as "would run: ..." and not run.

set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=""
BOARD=""
PREFIX=/opt/deskphone
VENV=$PREFIX/venv
CONF=/etc/deskphone
UNIT=/etc/systemd/system/deskphone.service
SYSUSERS=/etc/sysusers.d/deskphone.conf
MODULES=/etc/modules-load.d/deskphone.conf
SERVICE_USER=deskphone
DEBS="baresip-core kamailio python3-venv python3-dev gcc libc6-dev libasound2-dev"
CHANGED=0
RESTART=0
REBOOT=0

say() { echo "deskphone install: $*"; }
die() { echo "deskphone install: error: $*" >&2; exit 1; }

usage() {
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
    echo "options: --board FILE   the board config (required on the first install)"
    echo "         --root DIR     install into DIR instead of /"
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$(realpath -m "$2"); shift 2 ;;
        --root=*) ROOT=$(realpath -m "${1#--root=}"); shift ;;
        --board) [ $# -ge 2 ] || die "--board needs a file"; BOARD=$2; shift 2 ;;
        --board=*) BOARD=${1#--board=}; shift ;;
        -h|--help) usage 0 ;;
        *) echo "deskphone install: unknown option: $1" >&2; usage 2 ;;
    esac
done
[ "$ROOT" = "/" ] && ROOT=""

# Commands that change the running system: run them, or in --root mode say what would run.
system() {
    if [ -n "$ROOT" ]; then
        say "would run: $*"
    else
        "$@"
    fi
}

# install_file SRC DEST MODE [GROUP]: copy when the content differs (or DEST is missing).
install_file() {
    local src=$1 dest=$ROOT$2 mode=$3 group=${4:-}
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        fix_mode "$dest" "$mode" "$group"
        return 1
    fi
    mkdir -p "$(dirname "$dest")"
    install -m "$mode" "$src" "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
    fix_mode "$dest" "$mode" "$group"
    say "installed $2"
    CHANGED=1
    return 0
}

fix_mode() {
    local path=$1 mode=$2 group=$3
    [ "$(stat -c %a "$path")" = "${mode#0}" ] || { chmod "$mode" "$path"; CHANGED=1; }
    if [ -n "$group" ]; then
        local gid
        gid=$(group_id "$group") || return 0
        [ "$(stat -c %g "$path")" = "$gid" ] || { chgrp "$gid" "$path"; CHANGED=1; }
    fi
}

# The numeric id of a group in the target system's /etc/group (not the host's in --root mode).
group_id() {
    awk -F: -v g="$1" '$1 == g { print $3; found = 1 } END { exit !found }' "$ROOT/etc/group" 2>/dev/null
}

# --- checks -------------------------------------------------------------------

if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    die "run it as root: sudo $0 $*"
fi
command -v python3 >/dev/null || die "python3 is missing (apt-get install python3)"
if [ -z "$BOARD" ]; then
    if [ ! -f "$ROOT$CONF/board.toml" ]; then
        echo "deskphone install: error: choose the board you built: --board FILE, one of:" >&2
        ls "$SRC"/board-configs/*.toml >&2
        exit 2
    fi
    BOARD=$ROOT$CONF/board.toml
fi
[ -f "$BOARD" ] || die "board config not found: $BOARD"
# Validated with the system Python (stdlib only): a typo stops here, not at the first boot.
NEEDS=$(PYTHONPATH="$SRC/firmware" python3 -m deskphone.config.board_needs "$BOARD") \
    || die "the board config has an error (see above); nothing was installed"

# --- Debian packages ------------------------------------------------------------

if [ -n "$ROOT" ]; then
    say "would run: apt-get install $DEBS python3-lgpio (where available)"
    say "would run: systemctl disable --now kamailio.service (Debian's own; the phone runs its SIP edge itself)"
else
    missing=""
    for p in $DEBS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    if ! dpkg-query -W -f='${Status}' python3-lgpio 2>/dev/null | grep -q "ok installed"; then
        if apt-cache show python3-lgpio >/dev/null 2>&1; then missing="$missing python3-lgpio"; fi
    fi
    if [ -n "$missing" ]; then
        say "installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
        CHANGED=1
        # Debian starts a kamailio of its own on 5060 at install: the phone runs kamailio as
        # its SIP edge itself (under deskphone.service), so the packaged one must not hold the port.
        case " $missing " in
            *" kamailio "*)
                if [ -d /run/systemd/system ]; then
                    systemctl disable --now kamailio.service >/dev/null 2>&1 || true
                    say "disabled Debian's kamailio.service (the phone starts its own SIP edge)"
                fi ;;
        esac
    fi
fi

# --- the user -------------------------------------------------------------------

accounts_digest() { { cat "$ROOT/etc/passwd" "$ROOT/etc/group" 2>/dev/null || true; } | md5sum; }

install_file "$SRC/systemd/deskphone.sysusers" "$SYSUSERS" 0644 || true
if command -v systemd-sysusers >/dev/null; then
    mkdir -p "$ROOT/etc"
    before=$(accounts_digest)
    if [ -n "$ROOT" ]; then
        systemd-sysusers --root="$ROOT" "$ROOT$SYSUSERS" 2>&1 | sed 's/^/deskphone install: /'
    else
        systemd-sysusers "$SYSUSERS" 2>&1 | sed 's/^/deskphone install: /'
    fi
    after=$(accounts_digest)
    [ "$before" = "$after" ] || { say "created the user $SERVICE_USER and its groups"; CHANGED=1; }
elif [ -z "$ROOT" ]; then
    # No systemd-sysusers (unusual): the same with the shadow tools.
    for g in gpio i2c spi input dialout audio; do
        getent group "$g" >/dev/null || { groupadd --system "$g"; CHANGED=1; }
    done
    if ! id "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/deskphone --no-create-home \
            --shell /usr/sbin/nologin --user-group "$SERVICE_USER"
        CHANGED=1
    fi
    for g in gpio i2c spi input dialout audio; do
        id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx "$g" || { usermod -aG "$g" "$SERVICE_USER"; CHANGED=1; }
    done
else
    die "systemd-sysusers is needed for --root"
fi

# --- the program ------------------------------------------------------------------

# A hash of the source tree: pip runs again only when the source changed.
source_hash() {
    (cd "$SRC" && find pyproject.toml firmware/deskphone board-configs -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}
HASH=$(source_hash)
STAMP=$PREFIX/.installed-source
if [ -n "$ROOT" ]; then
    say "would run: python3 -m venv --system-site-packages $VENV"
    say "would run: $VENV/bin/pip install --force-reinstall --no-deps '$SRC'"
    say "would run: $VENV/bin/pip install '$SRC[pi]'"
elif [ ! -x "$VENV/bin/deskphone" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$HASH" ]; then
    [ -x "$VENV/bin/python" ] || python3 -m venv --system-site-packages "$VENV"
    say "installing deskphone into $VENV"
    # Our own package always (same version, new source), then whatever the pi extra still lacks.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$SRC"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$SRC[pi]"
    echo "$HASH" > "$STAMP"
    CHANGED=1
    RESTART=1
fi
install_file "$SRC/README.md" "$PREFIX/README.md" 0644 || true

# --- configuration ------------------------------------------------------------------

mkdir -p "$ROOT$CONF"
# The .cfg files may hold SIP passwords: readable by root and the service's group only.
if [ "$BOARD" != "$ROOT$CONF/board.toml" ]; then
    install_file "$BOARD" "$CONF/board.toml" 0640 "$SERVICE_USER" && RESTART=1 || true
fi
if [ ! -e "$ROOT$CONF/y000000000000.cfg" ]; then
    install_file "$SRC/systemd/y000000000000.cfg.example" "$CONF/y000000000000.cfg" 0640 "$SERVICE_USER" || true
else
    say "kept $CONF/y000000000000.cfg as it is"
fi
install_file "$SRC/systemd/deskphone.service" "$UNIT" 0644 && RESTART=1 || true

# --- I2C, SPI, UART ------------------------------------------------------------------

CONFIG_TXT=""
for f in /boot/firmware/config.txt /boot/config.txt; do
    if [ -f "$ROOT$f" ]; then CONFIG_TXT=$f; break; fi
done
CMDLINE_TXT=""
for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do
    if [ -f "$ROOT$f" ]; then CMDLINE_TXT=$f; break; fi
done

# ensure_config_line LINE: add it, under [all] so that no [pi4]-style section above limits it.
ensure_config_line() {
    local file=$ROOT$CONFIG_TXT line=$1 section
    if grep -Eq "^[[:space:]]*${line}[[:space:]]*$" "$file"; then
        return 0
    fi
    [ -z "$(tail -c 1 "$file")" ] || echo >> "$file"
    section=$(grep -E '^[[:space:]]*\[' "$file" | tail -n 1 | tr -d '[:space:]') || true
    if [ -n "$section" ] && [ "$section" != "[all]" ]; then
        printf '\n[all]\n' >> "$file"
    fi
    printf '# added by deskphone install.sh\n%s\n' "$line" >> "$file"
    say "added '$line' to $CONFIG_TXT"
    CHANGED=1
    REBOOT=1
}

if [ -n "$NEEDS" ]; then
    if [ -z "$CONFIG_TXT" ]; then
        say "no config.txt in /boot/firmware or /boot (not a Raspberry Pi?): enable $(echo $NEEDS) yourself"
    else
        for need in $NEEDS; do
            case "$need" in
                i2c) ensure_config_line "dtparam=i2c_arm=on"
                     if ! grep -qx "i2c-dev" "$ROOT$MODULES" 2>/dev/null; then
                         mkdir -p "$(dirname "$ROOT$MODULES")"
                         echo "i2c-dev" >> "$ROOT$MODULES"
                         say "load i2c-dev at boot ($MODULES)"
                         CHANGED=1; REBOOT=1
                     fi ;;
                spi) ensure_config_line "dtparam=spi=on" ;;
                uart) ensure_config_line "enable_uart=1"
                      if [ -n "$CMDLINE_TXT" ] && grep -Eq "console=(serial0|ttyAMA0|ttyS0)" "$ROOT$CMDLINE_TXT"; then
                          say "note: $CMDLINE_TXT gives the serial port to a login console; the deskphone console"
                          say "      leaves it alone until you run: sudo raspi-config nonint do_serial_cons 1 (then reboot)"
                      fi ;;
                usb-gadget) say "note: the console port is a USB gadget (/dev/ttyGS0): add dtoverlay=dwc2 to $CONFIG_TXT" \
                                "and g_serial to /etc/modules if you have not" ;;
            esac
        done
    fi
fi

# --- the service ----------------------------------------------------------------------

if [ -n "$ROOT" ]; then
    link=$ROOT/etc/systemd/system/multi-user.target.wants/deskphone.service
    if [ ! -L "$link" ]; then
        systemctl --root="$ROOT" enable deskphone.service 2>/dev/null
        say "enabled deskphone.service"
        CHANGED=1
    fi
    say "would run: systemctl daemon-reload && systemctl start deskphone.service"
else
    systemctl daemon-reload
    if ! systemctl is-enabled --quiet deskphone.service; then
        systemctl enable --quiet deskphone.service
        say "enabled deskphone.service"
        CHANGED=1
    fi
    if [ "$REBOOT" = 1 ]; then
        say "reboot to switch on the interfaces (sudo reboot); the phone starts by itself then"
    elif [ "$RESTART" = 1 ] && systemctl is-active --quiet deskphone.service; then
        systemctl restart deskphone.service
        say "restarted deskphone.service"
    elif ! systemctl is-active --quiet deskphone.service; then
        systemctl start deskphone.service
        say "started deskphone.service"
    fi
fi

if [ "$CHANGED" = 0 ]; then
    say "everything was already in place; nothing changed"
else
    say "done. Logs: journalctl -u deskphone -f   Config: $CONF"
fi
