/* web_html.c: HTML output: the page frame, escaping, numbers and times for people. */
#include <string.h>
#include <time.h>

#include "web_int.h"

void web_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

void web_qenc(FILE *f, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

void web_bytes(FILE *f, int64_t n)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;

    if (n < 0) {
        fputs("?", f);
        return;
    }
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    if (u == 0)
        fprintf(f, "%lld B", (long long)n);
    else
        fprintf(f, "%.1f %s", v, unit[u]);
}

void web_time_ns(FILE *f, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    char buf[40];

    if (ns <= 0) {
        fputs("-", f);
        return;
    }
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    fputs(buf, f);
}

void web_duration_ns(FILE *f, int64_t ns)
{
    double s = (double)ns / 1e9;

    if (ns < 0)
        fputs("-", f);
    else if (s < 60)
        fprintf(f, "%.1f s", s);
    else
        fprintf(f, "%lld min %lld s", (long long)(s / 60), (long long)s % 60);
}

const char *web_jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

int64_t web_jint(json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

void web_html_begin(FILE *f, const char *title, const char *section)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    web_esc(f, title);
    fputs(" - ocflfs</title>\n<meta name=\"viewport\" content=\"width=device-width\">\n"
          "<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
          "<script src=\"/static/app.js\" defer></script>\n</head>\n<body>\n<nav>"
          "<a class=\"brand\" href=\"/\">ocflfs</a> ",
          f);
    fprintf(f, "<a href=\"/\"%s>objects</a> <a href=\"/plans\"%s>plans</a></nav>\n<main>\n",
            section && !strcmp(section, "objects") ? " class=\"here\"" : "",
            section && !strcmp(section, "plans") ? " class=\"here\"" : "");
}

void web_html_end(FILE *f)
{
    fputs("</main>\n<footer>ocflfs " OCFLFS_VERSION " - read-only view</footer>\n</body></html>\n",
          f);
}
