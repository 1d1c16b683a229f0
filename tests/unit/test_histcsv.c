/* history.csv of a bundle: the cache's samples with the verdict's meminfo
 * keys and the verdict held at each one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/histcsv.h"
#include "memory/verdict.h"

#define SEC UINT64_C(1000000)
#define T0 (UINT64_C(1795557600) * SEC)

static void feed(struct engine *e, uint64_t t, unsigned objs, unsigned sunreclaim_kb, bool with_meminfo) {
        char si_text[512], mi_text[256];
        int n = snprintf(si_text, sizeof si_text,
                         "slabinfo - version: 2.1\n"
                         "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables "
                         "<limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
                         "leaky %u %u 256 16 1 : tunables 0 0 0 : slabdata %u %u 0\n",
                         objs, objs, objs / 16, objs / 16);
        struct slabinfo si = {};
        ck_assert_int_eq(slabinfo_parse(si_text, (size_t) n, &si), 0);
        struct meminfo mi = {};
        int m = snprintf(mi_text, sizeof mi_text,
                         "MemTotal: 2000000 kB\nMemAvailable: 1500000 kB\nSUnreclaim: %u kB\nVmallocUsed: 1000 kB\n",
                         sunreclaim_kb);
        ck_assert_int_eq(meminfo_parse(mi_text, (size_t) m, &mi), 0);
        ck_assert_int_eq(engine_feed(e, t, &si, with_meminfo ? &mi : NULL, 4096, NULL, NULL, NULL), 0);
        slabinfo_done(&si);
}

START_TEST(columns_and_verdicts) {
        struct config c;
        config_defaults(&c);
        c.interval_usec = 10 * SEC;
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        for (unsigned i = 0; i < 5; i++)
                feed(e, T0 + i * 10 * SEC, 1600 + 16 * i, 50000 + 100 * i, i != 3);

        /* The daemon started at the second sample; the verdict turned to
         * slab at the fourth. */
        struct histcsv_verdicts log;
        histcsv_verdicts_init(&log, T0 + 10 * SEC);
        histcsv_verdicts_add(&log, T0 + 30 * SEC, VERDICT_SLAB);
        histcsv_verdicts_add(&log, T0 + 35 * SEC, VERDICT_SLAB); /* no change: not a new entry */
        ck_assert_uint_eq(log.n, 1);

        size_t len;
        char *csv = histcsv_build(e, "leaky", T0, &log, &len);
        ck_assert_ptr_nonnull(csv);
        ck_assert_uint_eq(strlen(csv), len);
        const char *want =
                "time,active_objs,num_slabs,MemAvailable,SUnreclaim,SReclaimable,VmallocUsed,AnonPages,Shmem,verdict\n"
                "1795557600.000,1600,100,1500000,50000,,1000,,,\n"
                "1795557610.000,1616,101,1500000,50100,,1000,,,none\n"
                "1795557620.000,1632,102,1500000,50200,,1000,,,none\n"
                /* No meminfo this tick: the one before is a tick older and
                 * within the spacing; the verdict is the new one. */
                "1795557630.000,1648,103,1500000,50200,,1000,,,slab\n"
                "1795557640.000,1664,104,1500000,50400,,1000,,,slab\n";
        ck_assert_str_eq(csv, want);
        free(csv);
        /* Without a log the verdict column is empty; an unknown cache has none. */
        csv = histcsv_build(e, "leaky", T0 + 40 * SEC, NULL, &len);
        ck_assert_str_eq(csv, "time,active_objs,num_slabs,MemAvailable,SUnreclaim,SReclaimable,VmallocUsed,AnonPages,"
                              "Shmem,verdict\n1795557640.000,1664,104,1500000,50400,,1000,,,\n");
        free(csv);
        ck_assert_ptr_null(histcsv_build(e, "nosuch", T0, &log, &len));
        engine_free(e);
}
END_TEST

START_TEST(log_is_bounded) {
        struct histcsv_verdicts log;
        histcsv_verdicts_init(&log, 0);
        for (unsigned i = 0; i < 3 * HISTCSV_VERDICTS_MAX; i++)
                histcsv_verdicts_add(&log, 10 + i, i % 2 ? VERDICT_SLAB : VERDICT_NONE);
        ck_assert_uint_eq(log.n, HISTCSV_VERDICTS_MAX);
        /* The oldest went; the log starts where its first entry does. */
        ck_assert_uint_eq(log.since_usec, log.v[0].t_usec);
        ck_assert_uint_eq(log.v[HISTCSV_VERDICTS_MAX - 1].t_usec, 10 + 3 * HISTCSV_VERDICTS_MAX - 1);
}
END_TEST

int main(void) {
        Suite *s = suite_create("histcsv");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, columns_and_verdicts);
        tcase_add_test(tc, log_is_bounded);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
