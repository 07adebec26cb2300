// The shell script that provisions a booted host's root file system, run once in a chroot on the overlay before
// its first boot (rootfs.ts): what an admin does once on a real server, following the README's quick start.
// Inputs (environment): BGD_USER (deploy|root), BGD_PUBKEY, BGD_SUDO (1|0), BGD_SUDOERS_EXTRA, BGD_LINGER (1|0),
// BGD_INCLUDE_PORT.

export const NGINX_SITE = '/etc/nginx/sites-enabled/app';
export const NGINX_INCLUDE = '/etc/nginx/conf.d/service-url.inc';
export const NGINX_UPSTREAM = '/etc/nginx/conf.d/bluegreen-service-url.conf';
export const SUDOERS_FILE = '/etc/sudoers.d/deploy';
export const APP_DIR = '/opt/app';

export const PROVISION_SCRIPT = `set -eu
# Directories recreated through the overlay are opaque: the machine's files there (its sites, other targets'
# sudoers files) stay out of the host, also those the machine creates later.
rm -rf /etc/nginx/sites-enabled /etc/sudoers.d
mkdir -m 755 /etc/nginx/sites-enabled /etc/sudoers.d
mkdir -p -m 755 /etc/nginx/conf.d
cat > ${NGINX_SITE} <<'SITE'
# bgd booted host: the README's quick start
server {
    listen 80 default_server;
    server_name _;

    include ${NGINX_INCLUDE};

    location / {
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_next_upstream error timeout http_500 http_502 http_503;
        proxy_pass $service_url;
    }
}
SITE
printf 'set $service_url http://127.0.0.1:%s;\\n' "$BGD_INCLUDE_PORT" > ${NGINX_INCLUDE}
chmod 644 ${NGINX_SITE} ${NGINX_INCLUDE}

id deploy >/dev/null 2>&1 || useradd -m -s /bin/bash deploy
usermod -p '*' deploy
usermod -p '*' "$BGD_USER"
home=$(getent passwd "$BGD_USER" | cut -d: -f6)
group=$(id -gn "$BGD_USER")
[ -d "$home" ] || install -d -m 755 -o "$BGD_USER" -g "$group" "$home"
install -d -m 700 -o "$BGD_USER" -g "$group" "$home/.ssh"
printf '%s\\n' "$BGD_PUBKEY" > "$home/.ssh/authorized_keys"
chown "$BGD_USER:$group" "$home/.ssh/authorized_keys"
chmod 600 "$home/.ssh/authorized_keys"
install -d -m 755 -o deploy -g "$(id -gn deploy)" ${APP_DIR}

if [ "$BGD_SUDO" = 1 ]; then
  nginx=$(command -v nginx) tee=$(command -v tee) mv=$(command -v mv) rm=$(command -v rm)
  systemctl=$(command -v systemctl) chmod=$(command -v chmod)
  i=${NGINX_INCLUDE}
  u=${NGINX_UPSTREAM}
  {
    echo "deploy ALL=(root) NOPASSWD: $nginx -t, $nginx -T, $nginx -s reload, $systemctl reload nginx, $tee $i.tmp, $chmod 644 $i.tmp, $mv -f $i.tmp $i, $rm -f $i.tmp, $rm -f $i, $tee $u.tmp, $chmod 644 $u.tmp, $mv -f $u.tmp $u, $rm -f $u.tmp, $rm -f $u"
    [ -z "$BGD_SUDOERS_EXTRA" ] || printf '%s\\n' "$BGD_SUDOERS_EXTRA"
  } > /etc/sudoers.d/.deploy.tmp
  chmod 440 /etc/sudoers.d/.deploy.tmp
  visudo -c -q -f /etc/sudoers.d/.deploy.tmp
  mv /etc/sudoers.d/.deploy.tmp ${SUDOERS_FILE}
fi

if [ "$BGD_LINGER" = 1 ]; then
  mkdir -p -m 755 /var/lib/systemd/linger
  : > /var/lib/systemd/linger/deploy
fi
systemctl enable ssh.service nginx.service >/dev/null 2>&1 || true
`;
