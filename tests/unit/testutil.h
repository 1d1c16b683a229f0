/* testutil — helpers shared by the Check suites. */
#pragma once

#include <stddef.h>

/* Read FIXTURES_DIR/@rel into a malloc'd NUL-terminated buffer; aborts the
 * test (ck_abort) if it cannot. *ret_len gets the length without the NUL. */
char *testutil_read_fixture(const char *rel, size_t *ret_len);

/* Make a fresh temporary directory; returns a malloc'd path. */
char *testutil_mkdtemp(void);

/* Write @len bytes to @dir/@rel, creating parent directories. */
void testutil_write_file(const char *dir, const char *rel, const char *data, size_t len);

/* rm -rf @dir (for temporary trees only). */
void testutil_rmtree(const char *dir);
