/* detect — see detect.h. */
#include "caches/detect.h"

#include <stddef.h>

uint64_t detect_needed_usec(const struct config_rule *rule, const struct detect_measure *m) {
        uint64_t shortest = rule->fast_for_usec > 0 && rule->fast_for_usec < rule->steady_for_usec ? rule->fast_for_usec
                                                                                                 : rule->steady_for_usec;
        if (rule->fast_exhaust_usec > 0 && rule->fast_for_usec > 0 &&
            m->exhaust_sec * 1e6 <= (double) rule->fast_exhaust_usec)
                return shortest;
        /* The further the rise stands above the noise, the less time it
         * needs: at DETECT_CLEAR_FACTOR times the significance asked for,
         * steady_for shrinks in proportion, down to fast_for. */
        double clear = rule->significance * DETECT_CLEAR_FACTOR;
        if (clear > 0 && m->significance > clear) {
                double scaled = (double) rule->steady_for_usec * clear / m->significance;
                return scaled > (double) shortest ? (uint64_t) scaled : shortest;
        }
        return rule->steady_for_usec;
}

bool detect_rule_holds(const struct config_rule *rule, const struct detect_measure *m) {
        if (!rule || !m || rule->ignore || !m->decided || !m->steady)
                return false;
        /* A rule without any threshold would trip every cache that moves. */
        if (rule->objects_per_min <= 0 && rule->bytes_per_hour <= 0 && rule->percent_per_hour <= 0 &&
            rule->significance <= 0)
                return false;
        if (!(m->objs_per_min > 0) || !(m->rise_objs > 0))
                return false;
        if (rule->objects_per_min > 0 && !(m->objs_per_min >= rule->objects_per_min))
                return false;
        if (rule->bytes_per_hour > 0 && !(m->bytes_per_hour >= rule->bytes_per_hour))
                return false;
        if (rule->percent_per_hour > 0 && !(m->percent_per_hour >= rule->percent_per_hour))
                return false;
        if (rule->min_bytes > 0 && m->bytes < rule->min_bytes)
                return false;
        if (rule->significance > 0 && !(m->significance >= rule->significance))
                return false;
        if (rule->min_trend > 0 && !(m->trend >= rule->min_trend))
                return false;
        return m->rise_sec * 1e6 >= (double) detect_needed_usec(rule, m);
}

void detect_observe(struct detect *d, uint64_t t_usec, uint64_t floor) {
        if (d->state == DETECT_TRIPPED && floor > d->high_water) {
                d->high_water = floor;
                d->high_water_usec = t_usec;
        }
}

static void alerted(struct detect *d, const struct detect_measure *m) {
        d->last_alert_usec = m->t_usec;
        d->last_alert_objs_per_min = m->objs_per_min;
}

enum detect_event detect_step(struct detect *d, const struct config_rule *rule,
                              const struct config_alert *alert, const struct detect_measure *m) {
        bool holds = detect_rule_holds(rule, m);

        switch (d->state) {
        case DETECT_OK:
                if (!holds)
                        return DETECT_EVENT_NONE;
                d->state = DETECT_PENDING;
                d->pending_since_usec = m->t_usec;
                /* A rule without `for` trips at once. */
                if (rule->for_usec > 0)
                        return DETECT_EVENT_NONE;
                break;
        case DETECT_PENDING:
                if (!m->decided)
                        return DETECT_EVENT_NONE;
                if (!holds) {
                        d->state = DETECT_OK;
                        return DETECT_EVENT_NONE;
                }
                if (m->t_usec - d->pending_since_usec < rule->for_usec)
                        return DETECT_EVENT_NONE;
                break;
        case DETECT_TRIPPED:
                if (holds) {
                        bool faster = alert->rate_factor > 1 &&
                                      m->objs_per_min >= d->last_alert_objs_per_min * alert->rate_factor;
                        bool due = alert->repeat_usec > 0 && m->t_usec - d->last_alert_usec >= alert->repeat_usec;
                        if (faster || due) {
                                alerted(d, m);
                                return DETECT_EVENT_RETRIP;
                        }
                        return DETECT_EVENT_NONE;
                }
                if (m->t_usec - d->high_water_usec >= alert->clear_usec) {
                        d->state = DETECT_OK;
                        return DETECT_EVENT_CLEARED;
                }
                return DETECT_EVENT_NONE;
        default:
                d->state = DETECT_OK;
                return DETECT_EVENT_NONE;
        }

        d->state = DETECT_TRIPPED;
        d->tripped_since_usec = m->t_usec;
        d->high_water = (uint64_t) m->floor;
        d->high_water_usec = m->t_usec;
        alerted(d, m);
        return DETECT_EVENT_TRIP;
}

const char *detect_state_name(enum detect_state s) {
        switch (s) {
        case DETECT_OK:
                return "ok";
        case DETECT_PENDING:
                return "pending";
        case DETECT_TRIPPED:
                return "tripped";
        default:
                return "unknown";
        }
}

const char *detect_event_name(enum detect_event e) {
        switch (e) {
        case DETECT_EVENT_TRIP:
                return "trip";
        case DETECT_EVENT_RETRIP:
                return "retrip";
        case DETECT_EVENT_CLEARED:
                return "cleared";
        default:
                return "";
        }
}
