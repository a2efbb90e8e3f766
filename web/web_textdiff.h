/* web_textdiff.h: a line diff of two texts for people. */
#ifndef OCFLFS_WEB_TEXTDIFF_H
#define OCFLFS_WEB_TEXTDIFF_H

#include <stddef.h>
#include <stdio.h>

/* The most cells (changed lines of one side times the other's) a diff may take. */
#define WEB_TEXTDIFF_CELLS (4u << 20)

/*
 * Write the difference from @a to @b to @f as unified hunks ("@@ -l,n +l,n @@", then lines
 * beginning ' ', '-' or '+'), three lines of context.  Identical texts write nothing.
 * -E2BIG when the changed middle is too large to compare line by line, -ENOMEM.
 */
int web_textdiff(const char *a, size_t alen, const char *b, size_t blen, FILE *f);

#endif
