#include "services.h"

#include "log.h"

int daemon_start_services(struct daemon *d) {
        (void) d;
        return 0;
}

void daemon_stop_services(struct daemon *d) {
        (void) d;
}

void daemon_on_trip(struct daemon *d, const struct engine_event *ev) {
        (void) d;
        (void) ev;
}

void daemon_after_sample(struct daemon *d) {
        (void) d;
}
