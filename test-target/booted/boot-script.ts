// The script that boots a host: run by `unshare --pid --fork --mount --uts --ipc --cgroup` inside the host's
// network namespace, so it is PID 1 of a new pid namespace, and its stdin is the pty of `script` (the console).
// It mounts the overlay and the kernel file systems of the new root, pivots into it and becomes systemd.
// Arguments: upperdir, workdir, mount point, a file for the boot id.

export const BOOT_SCRIPT = `set -eu
upper=$1 work=$2 R=$3 boot_id=$4
console=$(tty)
mount -t overlay overlay -o "lowerdir=/,upperdir=$upper,workdir=$work" "$R"

mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
for f in sys sysrq-trigger; do
  [ -e "$R/proc/$f" ] || continue
  mount --bind "$R/proc/$f" "$R/proc/$f"
  mount -o remount,bind,ro "$R/proc/$f"
done
# A boot id of its own for each boot (the kernel's never changes): journalctl -b, --list-boots.
cat /proc/sys/kernel/random/uuid > "$boot_id"
chmod 444 "$boot_id"
mount --bind "$boot_id" "$R/proc/sys/kernel/random/boot_id"
mount -o remount,bind,ro "$R/proc/sys/kernel/random/boot_id"
# ip netns exec mounted a sysfs without the cgroup mounts: systemd needs cgroup2 there (or exits with 255).
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"

# A /dev of its own: the usual character devices, a new devpts instance, and the console.
mount -t tmpfs -o mode=755,size=4m,nosuid,noexec tmpfs "$R/dev"
for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  name=\${d%%:*} nums=\${d#*:}
  mknod -m 666 "$R/dev/$name" c "\${nums%%:*}" "\${nums#*:}"
done
mkdir -m 755 "$R/dev/pts" "$R/dev/mqueue"
mkdir -m 1777 "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
: > "$R/dev/console"
mount --bind "$console" "$R/dev/console"

# Never the machine's /tmp: systemd-tmpfiles empties /tmp at boot.
mount -t tmpfs -o mode=1777,size=512m,nosuid,nodev tmpfs "$R/tmp"
mount -t tmpfs -o mode=755,size=128m,nosuid,nodev tmpfs "$R/run"

cd "$R"
pivot_root . .
umount -l .
exec env -i container=other TERM=dumb /lib/systemd/systemd --show-status=yes
`;
