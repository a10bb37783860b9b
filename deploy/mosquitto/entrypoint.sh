#!/bin/sh
# Builds mosquitto's password files, then runs mosquitto in its place.
#
# The stack's users (collector, simulator) come from .env through docker-compose; the device
# listener's users from the hashed files in /mosquitto/devices/*.passwd. No password is stored
# in the repository or the image. The files live on a tmpfs, so they are rebuilt at every
# start: a changed password in .env takes effect on `docker compose up -d` (recreate), a new
# device file on `docker compose restart mosquitto`.
#
# MOSQUITTO_ROOT and MOSQUITTO_EXEC exist for the tests, which run this very script outside a
# container (tests/servers.py, SecureMosquitto); the container uses the defaults.
set -eu
umask 077
root="${MOSQUITTO_ROOT:-/mosquitto}"
passwd="$root/auth/passwd"
: > "$passwd"
add_user() {
    if [ -z "$2" ]; then
        echo "entrypoint: the password of MQTT user '$1' is empty; set it in .env" >&2
        exit 1
    fi
    # -b takes the password as an argument: visible to this container's processes for the
    # few milliseconds mosquitto_passwd runs, never outside the container.
    mosquitto_passwd -b "$passwd" "$1" "$2"
}
add_user collector "${MQTT_COLLECTOR_PASSWORD:-}"
add_user simulator "${MQTT_SIMULATOR_PASSWORD:-}"

# Device users (port 8884): each line of the mounted files is "device-id:hash", as
# mosquitto_passwd writes it. None is needed: with no device, the listener refuses every login.
devices="$root/auth/devices"
: > "$devices"
for file in "$root"/devices/*.passwd; do
    if [ -f "$file" ]; then
        # awk ends every line with a newline, so a file whose last line has none does not run
        # into the next file's first line.
        awk 'NF' "$file" >> "$devices"
    fi
done
echo "entrypoint: $(grep -c ':' "$devices" || true) device user(s) for the device listener"
if [ "$(id -u)" = 0 ]; then
    chown mosquitto:mosquitto "$passwd" "$devices"
fi
exec "${MOSQUITTO_EXEC:-/usr/sbin/mosquitto}" -c "$root/config/mosquitto.conf"
