#!/bin/sh
# Builds mosquitto's password file from the environment, then runs mosquitto in its place.
# The passwords come from .env through docker-compose; none is stored in the repository or
# the image. The file lives on a tmpfs, so it is rebuilt at every start and a changed
# password in .env takes effect on `docker compose up -d` (recreate).
set -eu
umask 077
passwd=/mosquitto/auth/passwd
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
chown mosquitto:mosquitto "$passwd"
exec /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
