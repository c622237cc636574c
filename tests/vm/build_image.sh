#!/bin/bash
# Build the VM lab's Debian 12 amd64 (or, with VM_ARCH=arm64, arm64) image from Debian packages only.
#
#   tests/vm/build_image.sh OUTDIR        (as root; `make vm-image` calls it)
#
# OUTDIR gets: rootfs.img (ext4, made with `mkfs.ext4 -d`: no loop devices),
# vmlinuz and initrd.img (booted directly: -kernel/-initrd), id_vm / id_vm.pub
# (the ssh key the tests log in with), wheels/ (what pip inside may install) and
# timings.txt (seconds and disk per step).
#
# Nothing is downloaded but Debian packages (mmdebstrap, from the configured Debian
# mirror) and PyPI packages (`pip download` on the host into wheels/, copied into
# the image; pip inside is pointed at them with --no-index --find-links by
# /etc/pip.conf). The VM itself has no route off its user-net segment.
set -euo pipefail

OUT=${1:?usage: build_image.sh OUTDIR}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PIP=${PIP:-$SRC/.venv/bin/pip}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
ARCH=${VM_ARCH:-amd64}
KERNEL_PKG=linux-image-$ARCH
# Free room on the root file system for the install (venv, sdist builds, logs).
EXTRA_MB=${VM_EXTRA_MB:-1536}

# What the phone and the tests need inside: systemd, a kernel, ssh, what install.sh
# would apt-get (so that it finds them installed: the VM has no archive to reach),
# ALSA tools for the sound tests, the kernel source and headers for out-of-tree modules.
PACKAGES=(
    systemd systemd-sysv udev dbus kmod "$KERNEL_PKG" initramfs-tools
    openssh-server iproute2 procps less ca-certificates
    python3 python3-venv python3-dev gcc libc6-dev libasound2-dev make
    baresip-core kamailio alsa-utils
    # gpio-sim, built out of tree at image build time (see tests/vm/modules/gpio-sim).
    linux-headers-$ARCH linux-source-6.1 xz-utils
)
# arm64: PyPI has no aarch64 wheel of lgpio; its sdist is built in the chroot with swig,
# statically (PYPI=1: with the liblgpio it carries; Debian 12 has no liblgpio).
WHEEL_ENV=()
[ "$ARCH" = arm64 ] && { PACKAGES+=(swig); WHEEL_ENV=(PYPI=1); }
[ -n "${VM_EXTRA_PACKAGES:-}" ] && PACKAGES+=(${VM_EXTRA_PACKAGES})

[ "$(id -u)" = 0 ] || { echo "build_image.sh: run it as root (mmdebstrap, mkfs.ext4 -d)" >&2; exit 1; }
for tool in mmdebstrap mkfs.ext4 ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "build_image.sh: $tool is missing" >&2; exit 1; }
done

mkdir -p "$OUT"
OUT=$(realpath "$OUT")
ROOT=$OUT/rootfs
TIMES=$OUT/timings.txt
: > "$TIMES"
rm -rf "$ROOT" "$OUT/rootfs.img" "$OUT/wheels"

step_start=0
step() { step_start=$(date +%s.%N); echo "== $*"; }
done_step() {   # done_step NAME PATH_FOR_DISK
    local secs disk
    secs=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    disk=$(du -sm "$2" 2>/dev/null | cut -f1)
    printf '%-10s %7.1f s  %6s MB\n' "$1" "$secs" "$disk" | tee -a "$TIMES"
}

# --- the wheels (host side) --------------------------------------------------------
step "pip download: the project's dependencies and its pi extra"
mkdir -p "$OUT/wheels"
# The guest is the same Debian 12 with the same Python 3.11: what pip picks here installs
# there. Packages without a wheel come as sdists and are built inside, as on a Pi;
# setuptools and wheel let pip build them (and the project itself) without an index.
"$PIP" download --quiet --disable-pip-version-check --dest "$OUT/wheels" "$SRC[pi]" \
    'setuptools>=68' wheel
rm -f "$OUT"/wheels/deskphone-*
if [ "$ARCH" = arm64 ]; then
    # arm64: the host's own binary wheels (x86_64) are swapped for the same versions built
    # for aarch64; pure wheels and sdists (built in the chroot below) stay as they are.
    # Without an aarch64 wheel (lgpio) the sdist comes instead, built in the chroot too.
    for whl in "$OUT"/wheels/*x86_64*.whl; do
        [ -f "$whl" ] || continue
        spec=$(basename "$whl" | awk -F- '{ print $1 "==" $2 }')
        "$PIP" download --quiet --disable-pip-version-check --no-deps --dest "$OUT/wheels" \
            --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
            --platform manylinux_2_36_aarch64 --platform manylinux_2_28_aarch64 \
            --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 "$spec" \
            2>/dev/null \
        || "$PIP" download --quiet --disable-pip-version-check --no-deps --dest "$OUT/wheels" \
            --no-binary=:all: "$spec"
        rm -f "$whl"
    done
fi
done_step wheels "$OUT/wheels"

# --- the root file system -----------------------------------------------------------
step "mmdebstrap: Debian 12 ($ARCH) with ${#PACKAGES[@]} packages"
KEY=$OUT/id_vm
rm -f "$KEY" "$KEY.pub"
ssh-keygen -q -t ed25519 -N "" -C deskphone-vm -f "$KEY"
nice -n 10 mmdebstrap --quiet --variant=apt --architectures="$ARCH" \
    --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='chroot "$1" apt-get clean' \
    bookworm "$ROOT" \
    "deb $MIRROR bookworm main" \
    "deb $MIRROR bookworm-updates main" \
    "deb $SECURITY bookworm-security main"
done_step debootstrap "$ROOT"

step "configure: network, ssh, pip, fstab"
KVER=$(ls "$ROOT"/boot | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)
echo deskphone-vm > "$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 deskphone-vm\n' > "$ROOT/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$ROOT/etc/fstab"
# A fixed address on QEMU's user-net segment and NO default route: the guest reaches
# 10.0.2.2 (QEMU turns that into the host's 127.0.0.1) and nothing else.
mkdir -p "$ROOT/etc/systemd/network"
cat > "$ROOT/etc/systemd/network/10-vm.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
# Only this segment: systemd-networkd-wait-online would wait for a "routable" link.
mkdir -p "$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d"
printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --operational-state=degraded --timeout=20\n' \
    > "$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d/vm.conf"
systemctl --root="$ROOT" enable systemd-networkd.service ssh.service >/dev/null 2>&1
# kamailio is there for the phone's SIP edge; its own Debian service stays off.
systemctl --root="$ROOT" disable kamailio.service >/dev/null 2>&1 || true
install -d -m 0700 "$ROOT/root/.ssh"
install -m 0600 "$KEY.pub" "$ROOT/root/.ssh/authorized_keys"
cat > "$ROOT/etc/ssh/sshd_config.d/vm.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF
# pip inside: only the directory copied in, never an index.
cp -a "$OUT/wheels" "$ROOT/opt/wheels"
printf '[global]\nno-index = true\nfind-links = /opt/wheels\n' > "$ROOT/etc/pip.conf"
# The sdists (python-evdev, pyalsaaudio, spidev) are built into wheels here, in the image's
# own chroot (its gcc, Python 3.11 headers and libasound2-dev, what install.sh apt-gets) at
# native speed, not by pip under TCG in the install, where they took most of its minutes.
step_start=$(date +%s.%N)
mount -t proc proc "$ROOT/proc"
trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT
chroot "$ROOT" env "${WHEEL_ENV[@]}" sh -ec 'python3 -m venv /tmp/wheel-build
    /tmp/wheel-build/bin/pip wheel --quiet --disable-pip-version-check --no-deps --use-pep517 \
        --wheel-dir /opt/wheels /opt/wheels/*.tar.gz
    rm -rf /tmp/wheel-build /opt/wheels/*.tar.gz /root/.cache/pip'
umount "$ROOT/proc" && trap - EXIT
ls "$ROOT"/opt/wheels | grep -- '-linux_' | sed 's/^/built in the chroot: /'
done_step sdists "$ROOT/opt/wheels"
step_start=$(date +%s.%N)
# Journald keeps the log across the tests' restarts of the service (and the VM).
mkdir -p "$ROOT/var/log/journal"
# VM-only: the ALSA loopback card stands in for the Pi's USB sound card (the tests record
# the phone's tones on its far side); i2c-stub is loaded by the display test itself.
printf 'snd-aloop\n' > "$ROOT/etc/modules-load.d/deskphone-vm-lab.conf"
# gpio-sim: built here in the image's chroot against its own kernel's headers, installed as
# an extra module; the kernel source tarball is removed again (140 MB).
step_start=$(date +%s.%N)
MOD=$ROOT/usr/src/deskphone-vm-gpio-sim
rm -rf "$MOD" && mkdir -p "$MOD" && cp "$SRC/tests/vm/modules/gpio-sim/Makefile" "$MOD/"
tar -xf "$ROOT"/usr/src/linux-source-6.1.tar.xz -C "$MOD" --strip-components=1 \
    linux-source-6.1/drivers/gpio/gpio-sim.c linux-source-6.1/drivers/gpio/gpiolib.h \
    linux-source-6.1/kernel/irq/irq_sim.c
sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' \
    "$MOD/kernel/irq/irq_sim.c"
chroot "$ROOT" make -s -C "/usr/src/linux-headers-$KVER" M=/usr/src/deskphone-vm-gpio-sim modules
install -D -m 0644 "$MOD/gpio-sim.ko" "$ROOT/lib/modules/$KVER/extra/gpio-sim.ko"
# i2c-stub with plain I2C transfers (tests/vm/modules/i2c-stub), as i2c-stub-rdwr.ko.
STUB=$ROOT/usr/src/deskphone-vm-i2c-stub
rm -rf "$STUB" && mkdir -p "$STUB" && cp "$SRC"/tests/vm/modules/i2c-stub/{Makefile,i2c-stub-rdwr.h} "$STUB/"
tar -xf "$ROOT"/usr/src/linux-source-6.1.tar.xz -C "$STUB" --strip-components=1 \
    linux-source-6.1/drivers/i2c/i2c-stub.c
sed -i -e 's/^static const struct i2c_algorithm smbus_algorithm = {/#include "i2c-stub-rdwr.h"\n&\n\t.master_xfer\t= stub_rdwr_xfer,/' \
    -e 's/\(\.smbus_xfer[[:space:]]*=[[:space:]]*\)stub_xfer,/\1stub_rdwr_smbus_xfer,/' \
    -e 's/(I2C_FUNC_SMBUS_QUICK |/(I2C_FUNC_I2C | I2C_FUNC_SMBUS_QUICK |/' "$STUB/drivers/i2c/i2c-stub.c"
grep -q 'master_xfer' "$STUB/drivers/i2c/i2c-stub.c" && grep -q 'I2C_FUNC_I2C |' "$STUB/drivers/i2c/i2c-stub.c" \
    && grep -q '= stub_rdwr_smbus_xfer,' "$STUB/drivers/i2c/i2c-stub.c" \
    || { echo "build_image.sh: i2c-stub.c of linux-source-6.1 is not the one the patch knows" >&2; exit 1; }
chroot "$ROOT" make -s -C "/usr/src/linux-headers-$KVER" M=/usr/src/deskphone-vm-i2c-stub modules
install -D -m 0644 "$STUB/i2c-stub-rdwr.ko" "$ROOT/lib/modules/$KVER/extra/i2c-stub-rdwr.ko"
chroot "$ROOT" depmod "$KVER"
rm -f "$ROOT"/usr/src/linux-source-6.1.tar.xz
# As Raspberry Pi OS does (Debian leaves /dev/gpiochip* to root): group gpio.
printf 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"\n' \
    > "$ROOT/etc/udev/rules.d/60-deskphone-vm-gpio.rules"
printf 'SUBSYSTEM=="i2c-dev", GROUP="i2c", MODE="0660"\n' > "$ROOT/etc/udev/rules.d/60-deskphone-vm-i2c.rules"
done_step modules "$ROOT/lib/modules/$KVER/extra"
step_start=$(date +%s.%N)
# A quiet console on ttyS0 (the first UART is the kernel's); getty only where a test asks.
CONSOLE_TTY=ttyS0
[ "$ARCH" = arm64 ] && CONSOLE_TTY=ttyAMA0
systemctl --root="$ROOT" mask "serial-getty@$CONSOLE_TTY.service" >/dev/null 2>&1 || true
# arm64: the phone's port is the virtio console hvc0 (vm.py), where systemd's getty
# generator would start a getty of its own.
[ "$ARCH" = arm64 ] && { systemctl --root="$ROOT" mask serial-getty@hvc0.service >/dev/null 2>&1 || true; }
cp "$ROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$OUT/initrd.img"
echo "$KVER" > "$OUT/kernel-version"
done_step configure "$ROOT"

# --- the disk image -----------------------------------------------------------------
step "mkfs.ext4 -d: the disk image"
used_mb=$(du -sm "$ROOT" | cut -f1)
size_mb=$((used_mb + EXTRA_MB))
nice -n 10 mkfs.ext4 -q -F -L root -d "$ROOT" "$OUT/rootfs.img" "${size_mb}M"
rm -rf "$ROOT"
done_step image "$OUT/rootfs.img"
echo "image: $OUT/rootfs.img (${size_mb} MB, $(du -sm "$OUT/rootfs.img" | cut -f1) MB on disk)"
