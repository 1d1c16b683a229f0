/* services — the daemon's optional parts around sampling: the socket
 * server, the capture manager and its capability probe, the metrics
 * textfile. Started after the config is loaded, restarted on reload. */
#pragma once

#include <stdbool.h>

#include "core/daemon.h"
#include "caches/engine.h"

/* Start what the config asks for. A part that cannot start is reported and
 * left off; only a failure that makes the daemon useless is returned. */
int daemon_start_services(struct daemon *d);

/* Stop the parts that depend on the config; captures in progress are
 * finished (kernel restored, what was captured written). With @final the
 * socket server goes too; a reload keeps it (and a socket systemd passed).
 * Safe to call twice. */
void daemon_stop_services(struct daemon *d, bool final);

/* A cache tripped: start a capture if the config allows. */
void daemon_on_trip(struct daemon *d, const struct engine_event *ev);

/* After each sample: metrics textfile, caches that vanished mid-capture. */
void daemon_after_sample(struct daemon *d);
