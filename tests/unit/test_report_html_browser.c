/* test_report_html_browser — report.html in a real browser: headless
 * Chromium renders it to a PNG without console errors, and its DOM has the
 * history chart, the icicle graph and the culprit named. Skipped (77) when
 * chromium is not installed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/assemble.h"
#include "report/render.h"

static const char *chromium(void) {
        static const char *const candidates[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser" };
        for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

static char dir[] = "/tmp/slabwatch-html.XXXXXX";

static char *slurp(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        cap = (cap + 4096) * 2;
                        buf = realloc(buf, cap);
                        ck_assert_ptr_nonnull(buf);
                }
                size_t n = fread(buf + len, 1, 4096, f);
                len += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        buf[len] = '\0';
        *ret_len = len;
        return buf;
}

START_TEST(test_render_in_chromium) {
        static const char *const leak[] = { "kmalloc_reserve+0x1/0x2", "__alloc_skb+0x98/0x238",
                                            "skbmgr_alloc_skb4k+0xc8/0x124 [skbmgr]",
                                            "RTMP_AllocateRxPacketBuffer+0x40/0x1b0", "__do_softirq+0x1e8/0x308",
                                            "irq_exit+0x78/0x84" };
        static const char *const tx[] = { "kmalloc_reserve+0x1/0x2", "__alloc_skb+0x98/0x238",
                                          "skbmgr_alloc_skb4k+0xc8/0x124 [skbmgr]", "rt_tx_prepare+0x10/0x80" };
        static const char csv[] =
                "time,active_objs,num_slabs,MemAvailable,SUnreclaim,SReclaimable,VmallocUsed,AnonPages,Shmem,verdict\n"
                "1767225000,3000,750,2000000,100000,50000,30000,400000,2000,none\n"
                "1767225300,3100,775,1990000,124000,50000,30000,401000,2000,slab\n"
                "1767225590,3200,800,1980000,148000,50000,30000,400000,2000,slab\n";
        struct report *r = NULL;
        ck_assert_int_eq(report_new(&r), 0);
        strcpy(r->id, "20260101T000000Z-kmalloc-8k");
        strcpy(r->cache, "kmalloc-8k");
        r->start_realtime_usec = 1767225600000000ULL;
        r->trigger.objects_per_min = 20;
        struct report_stack *s = report_add_stack(r, leak, 6);
        s->allocs = s->outstanding = s->settled = 120;
        s = report_add_stack(r, tx, 4);
        s->allocs = s->frees = 50000;
        r->attribution.cache_first = 3200;
        r->attribution.cache_last = 3320;
        r->attribution.cache_samples = 7;
        r->attribution.allocs = 50120;
        r->attribution.frees = 50000;
        report_assemble(r, NULL, "duration", 360000000);
        ck_assert_str_eq(r->culprit, "RTMP_AllocateRxPacketBuffer");

        char *html = NULL;
        size_t len;
        ck_assert_int_eq(report_to_html(r, csv, sizeof csv - 1, &html, &len), 0);
        report_free(r);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        char page[256], png[256], dom[256], log[256], profile[256], cmd[2048];
        snprintf(page, sizeof page, "%s/report.html", dir);
        snprintf(png, sizeof png, "%s/report.png", dir);
        snprintf(dom, sizeof dom, "%s/dom.html", dir);
        snprintf(log, sizeof log, "%s/console.log", dir);
        snprintf(profile, sizeof profile, "%s/profile", dir);
        FILE *f = fopen(page, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(html, 1, len, f), len);
        fclose(f);
        free(html);
        if (getenv("SLABWATCH_KEEP_HTML"))
                printf("report.html kept in %s\n", dir);

        /* One run for the screenshot, one for the DOM: chromium does one
         * of them per run. Console messages go to the log. */
        snprintf(cmd, sizeof cmd,
                 "timeout 120 %s --headless --no-sandbox --disable-gpu --disable-background-networking "
                 "--disable-component-update --disable-sync --no-first-run --user-data-dir=%s "
                 "--enable-logging=stderr --v=0 --window-size=1280,1600 --screenshot=%s file://%s 2>%s >/dev/null",
                 chromium(), profile, png, page, log);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(cmd, sizeof cmd,
                 "timeout 120 %s --headless --no-sandbox --disable-gpu --disable-background-networking "
                 "--disable-component-update --disable-sync --no-first-run --user-data-dir=%s "
                 "--enable-logging=stderr --v=0 --dump-dom file://%s >%s 2>>%s",
                 chromium(), profile, page, dom, log);
        ck_assert_int_eq(system(cmd), 0);

        struct stat st;
        ck_assert_int_eq(stat(png, &st), 0);
        ck_assert_int_gt(st.st_size, 1000);
        size_t n;
        char *d = slurp(dom, &n);
        ck_assert_ptr_nonnull(d);
        /* The DOM the browser built, not our text: the SVGs are there. */
        ck_assert_ptr_nonnull(strstr(d, "<svg id=\"history-chart\""));
        ck_assert_ptr_nonnull(strstr(d, "<svg id=\"flamegraph\""));
        ck_assert_ptr_nonnull(strstr(d, "<svg id=\"verdict-chart\""));
        ck_assert_ptr_nonnull(strstr(d, "data-verdict=\"slab\""));
        ck_assert_ptr_nonnull(strstr(d, "id=\"culprit\""));
        ck_assert_ptr_nonnull(strstr(d, "<title>RTMP_AllocateRxPacketBuffer: 120 outstanding</title>"));
        ck_assert_ptr_nonnull(strstr(d, "<span class=\"culprit-name\">RTMP_AllocateRxPacketBuffer</span>"));
        free(d);
        char *l = slurp(log, &n);
        ck_assert_ptr_nonnull(l);
        /* Console output (errors, CSP violations) is logged as CONSOLE. */
        if (strstr(l, "CONSOLE"))
                ck_abort_msg("console output while rendering report.html:\n%s", l);
        free(l);
        if (!getenv("SLABWATCH_KEEP_HTML")) {
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                ck_assert_int_eq(system(cmd), 0);
        }
}
END_TEST

int main(void) {
        if (!chromium()) {
                printf("SKIP: chromium is not installed (Debian package chromium; scripts/deps.sh installs it)\n");
                return 77;
        }
        Suite *s = suite_create("report_html_browser");
        TCase *tc = tcase_create("chromium");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_render_in_chromium);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
