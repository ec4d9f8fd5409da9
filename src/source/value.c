/* Text -> typed values. Hand-written parsers because this is the hot path of
 * CSV conversion: sscanf/strtoll/strptime are locale-aware, need NUL-terminated
 * input and cost several times more per field. strtod is kept only as the
 * fallback for doubles that the exact fast path (Clinger) cannot do. */
#include "source/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline bool is_digit(char c)
{
    return (unsigned)(c - '0') < 10u;
}

bool pqf__parse_u64(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    if (n && s[0] == '+')
        i = 1;
    if (i == n)
        return false;
    uint64_t acc = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return false;
        if (PQF_UNLIKELY(acc > (UINT64_MAX - d) / 10))
            return false;
        acc = acc * 10 + d;
    }
    *out = acc;
    return true;
}

bool pqf__parse_i64(const char *s, size_t n, int64_t *out)
{
    bool neg = false;
    size_t i = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t acc = 0;
    if (n - i <= 18) { /* cannot overflow: no check per digit */
        for (; i < n; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (d > 9)
                return false;
            acc = acc * 10 + d;
        }
    } else {
        for (; i < n; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (d > 9)
                return false;
            if (acc > (UINT64_MAX - d) / 10)
                return false;
            acc = acc * 10 + d;
        }
    }
    if (neg) {
        if (acc > (uint64_t)INT64_MAX + 1)
            return false;
        *out = (int64_t)(0 - acc);
    } else {
        if (acc > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)acc;
    }
    return true;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static bool eq_nocase(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (k != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != lit[i])
            return false;
    return true;
}

bool pqf__parse_double(const char *s, size_t n, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i < n && (lower(s[i]) == 'i' || lower(s[i]) == 'n')) {
        const char *w = s + i;
        size_t wn = n - i;
        if (eq_nocase(w, wn, "inf") || eq_nocase(w, wn, "infinity")) {
            *out = neg ? -INFINITY : INFINITY;
            return true;
        }
        if (eq_nocase(w, wn, "nan")) {
            *out = NAN;
            return true;
        }
        return false;
    }
    uint64_t m = 0;
    int sig = 0;      /* significant digits accumulated in m */
    int dropped = 0;  /* integer digits beyond 19 (scale m up) */
    int frac = 0;     /* fraction digits accumulated in m */
    int digits = 0;
    bool inexact = false;
    for (; i < n && is_digit(s[i]); i++, digits++) {
        if (sig < 19) {
            if (m || s[i] != '0') {
                m = m * 10 + (uint64_t)(s[i] - '0');
                sig++;
            }
        } else {
            dropped++;
            inexact |= s[i] != '0';
        }
    }
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && is_digit(s[i]); i++, digits++) {
            if (sig < 19) {
                if (m || s[i] != '0')
                    sig++;
                m = m * 10 + (uint64_t)(s[i] - '0');
                frac++;
            } else {
                inexact |= s[i] != '0';
            }
        }
    }
    if (digits == 0)
        return false;
    int64_t e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i == n || !is_digit(s[i]))
            return false;
        for (; i < n && is_digit(s[i]); i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        if (eneg)
            e = -e;
    }
    if (i != n)
        return false;
    int64_t e10 = e + dropped - frac;
    if (!inexact && m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        *out = neg ? -d : d;
        return true;
    }
    /* Rare: long mantissas, big exponents. strtod needs a NUL-terminated copy. */
    char tmp[400];
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
    return true;
}

bool pqf__parse_bool(const char *s, size_t n, bool *out)
{
    if (n == 1) {
        char c = lower(s[0]);
        if (c == '1' || c == 't') {
            *out = true;
            return true;
        }
        if (c == '0' || c == 'f') {
            *out = false;
            return true;
        }
        return false;
    }
    if (eq_nocase(s, n, "true")) {
        *out = true;
        return true;
    }
    if (eq_nocase(s, n, "false")) {
        *out = false;
        return true;
    }
    return false;
}

static inline int dig2(const char *s)
{
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool date_fields(const char *s, int64_t *days)
{
    /* s has at least 10 bytes */
    if (s[4] != '-' || s[7] != '-')
        return false;
    int y1 = dig2(s), y2 = dig2(s + 2), mo = dig2(s + 5), d = dig2(s + 8);
    if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1)
        return false;
    int y = y1 * 100 + y2;
    static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int maxd = mdays[mo - 1];
    if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        maxd = 29;
    if (d > maxd)
        return false;
    *days = pqf__days_from_civil(y, (unsigned)mo, (unsigned)d);
    return true;
}

bool pqf__parse_date(const char *s, size_t n, int32_t *days)
{
    int64_t dd;
    if (n != 10 || !date_fields(s, &dd))
        return false;
    *days = (int32_t)dd;
    return true;
}

/* HH:MM[:SS[.f{1,9}]] at s; returns bytes consumed (0 on error). */
static size_t time_fields(const char *s, size_t n, int64_t *secs, int32_t *nanos)
{
    if (n < 5 || s[2] != ':')
        return 0;
    int h = dig2(s), mi = dig2(s + 3), sec = 0;
    if (h < 0 || h > 23 || mi < 0 || mi > 59)
        return 0;
    size_t i = 5;
    int32_t ns = 0;
    if (i < n && s[i] == ':') {
        if (n - i < 3)
            return 0;
        sec = dig2(s + i + 1);
        if (sec < 0 || sec > 59)
            return 0;
        i += 3;
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            i++;
            int k = 0;
            for (; i < n && is_digit(s[i]); i++, k++) {
                if (k >= 9) {
                    if (s[i] != '0')
                        return 0; /* below a nanosecond: would be lost */
                    continue;
                }
                ns = ns * 10 + (s[i] - '0');
            }
            if (k == 0)
                return 0;
            for (; k < 9; k++)
                ns *= 10;
        }
    }
    *secs = h * 3600 + mi * 60 + sec;
    *nanos = ns;
    return i;
}

bool pqf__parse_time(const char *s, size_t n, int64_t *nanos)
{
    int64_t secs;
    int32_t ns;
    size_t used = time_fields(s, n, &secs, &ns);
    if (used == 0 || used != n)
        return false;
    *nanos = secs * 1000000000 + ns;
    return true;
}

bool pqf__parse_timestamp(const char *s, size_t n, int64_t *secs, int32_t *nanos,
                          bool *has_offset, int32_t *offset_secs)
{
    int64_t days;
    if (n < 10 || !date_fields(s, &days))
        return false;
    int64_t tsec = 0;
    int32_t ns = 0;
    size_t i = 10;
    *has_offset = false;
    *offset_secs = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return false;
        i++;
        size_t used = time_fields(s + i, n - i, &tsec, &ns);
        if (used == 0)
            return false;
        i += used;
        if (i < n) {
            if (s[i] == 'Z' || s[i] == 'z') {
                *has_offset = true;
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1;
                i++;
                if (n - i < 2)
                    return false;
                int oh = dig2(s + i), om = 0;
                i += 2;
                if (i < n && s[i] == ':')
                    i++;
                if (i < n) {
                    if (n - i < 2)
                        return false;
                    om = dig2(s + i);
                    i += 2;
                }
                if (oh < 0 || oh > 23 || om < 0 || om > 59)
                    return false;
                *has_offset = true;
                *offset_secs = sign * (oh * 3600 + om * 60);
            }
        }
        if (i != n)
            return false;
    }
    *secs = days * 86400 + tsec;
    *nanos = ns;
    return true;
}

const char *pqf__parse_decimal(const char *s, size_t n, int precision, int scale,
                               __int128 *unscaled)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    unsigned __int128 acc = 0;
    int ip = 0, fd = 0, digits = 0;
    for (; i < n && s[i] == '0'; i++)
        digits++;
    for (; i < n && is_digit(s[i]); i++, digits++) {
        if (++ip > precision)
            return "out of range";
        acc = acc * 10 + (unsigned)(s[i] - '0');
    }
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && is_digit(s[i]); i++, digits++) {
            if (fd >= scale) {
                if (s[i] != '0')
                    return "has too many decimal places";
                continue;
            }
            acc = acc * 10 + (unsigned)(s[i] - '0');
            fd++;
        }
    }
    if (i != n || digits == 0)
        return "not a decimal number";
    if (ip + scale > precision)
        return "out of range";
    for (; fd < scale; fd++)
        acc *= 10;
    *unscaled = neg ? -(__int128)acc : (__int128)acc;
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool pqf__parse_uuid(const char *s, size_t n, uint8_t out[16])
{
    if (n == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        n -= 2;
    }
    bool dashes = n == 36;
    if (!dashes && n != 32)
        return false;
    if (dashes && (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-'))
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (dashes && (i == 8 || i == 13 || i == 18 || i == 23)) {
            i++;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[k++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return k == 16;
}

int pqf__count_digits(const char *s, size_t n)
{
    int d = 0;
    bool lead = true;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            continue;
        if (lead && s[i] == '0')
            continue;
        lead = false;
        d++;
    }
    return d;
}

bool pqf__utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* ---- per-column converters --------------------------------------------------- */

static int min_decimal_bytes(int precision)
{
    /* smallest n with 2^(8n-1) > 10^precision */
    int nbytes = 1;
    unsigned __int128 lim = 128; /* 2^7 */
    unsigned __int128 p = 1;
    for (int i = 0; i < precision; i++)
        p *= 10;
    while (lim < p && nbytes < 16) {
        nbytes++;
        lim <<= 8;
    }
    return nbytes;
}

const char *pqf__conv_init(pqf__conv *c, const pqf_node_info *leaf)
{
    memset(c, 0, sizeof *c);
    c->phys = leaf->physical;
    c->fixed_len = leaf->type_length;
    const pqf_logical *lt = &leaf->logical;
    switch (lt->kind) {
    case PQF_LT_DECIMAL:
        if (lt->precision < 1 || lt->precision > 38 || lt->scale < 0 || lt->scale > lt->precision)
            return "decimal precision must be 1..38 and scale 0..precision";
        c->kind = PQF__V_DECIMAL;
        c->precision = lt->precision;
        c->scale = lt->scale;
        if (c->phys == PQF_INT32 && c->precision > 9)
            return "decimal on int32 holds at most 9 digits";
        if (c->phys == PQF_INT64 && c->precision > 18)
            return "decimal on int64 holds at most 18 digits";
        if (c->phys == PQF_FIXED_LEN_BYTE_ARRAY && c->fixed_len < min_decimal_bytes(c->precision))
            return "fixed length too small for the decimal precision";
        if (c->phys == PQF_FIXED_LEN_BYTE_ARRAY && c->fixed_len > 32)
            return "fixed length of a decimal over 32 bytes";
        if (c->phys != PQF_INT32 && c->phys != PQF_INT64 && c->phys != PQF_FIXED_LEN_BYTE_ARRAY &&
            c->phys != PQF_BYTE_ARRAY)
            return "decimal on an unsupported physical type";
        return NULL;
    case PQF_LT_DATE:
        c->kind = PQF__V_DATE;
        return c->phys == PQF_INT32 ? NULL : "date must be int32";
    case PQF_LT_TIME:
        c->kind = PQF__V_TIME;
        c->unit = lt->unit;
        c->utc = lt->utc;
        return (c->phys == (lt->unit == PQF_MILLIS ? PQF_INT32 : PQF_INT64)) ? NULL
                                                                          : "bad time type";
    case PQF_LT_TIMESTAMP:
        c->kind = PQF__V_TIMESTAMP;
        c->unit = lt->unit;
        c->utc = lt->utc;
        return c->phys == PQF_INT64 ? NULL : "timestamp must be int64";
    case PQF_LT_UUID:
        c->kind = PQF__V_UUID;
        return (c->phys == PQF_FIXED_LEN_BYTE_ARRAY && c->fixed_len == 16) ? NULL
                                                                          : "uuid must be fixed(16)";
    case PQF_LT_STRING:
    case PQF_LT_ENUM:
        c->kind = PQF__V_STRING;
        return c->phys == PQF_BYTE_ARRAY ? NULL : "string must be binary";
    case PQF_LT_JSON:
        c->kind = PQF__V_JSON;
        return c->phys == PQF_BYTE_ARRAY ? NULL : "json must be binary";
    case PQF_LT_INT:
        if (c->phys != PQF_INT32 && c->phys != PQF_INT64)
            return "integer annotation on a non-integer type";
        c->kind = PQF__V_INT;
        c->is_unsigned = !lt->is_signed;
        if (lt->is_signed) {
            int bits = lt->bit_width;
            if (bits != 8 && bits != 16 && bits != 32 && bits != 64)
                return "integer width must be 8, 16, 32 or 64";
            c->imax = bits == 64 ? INT64_MAX : (int64_t)((1ull << (bits - 1)) - 1);
            c->imin = -c->imax - 1;
        } else {
            int bits = lt->bit_width;
            if (bits != 8 && bits != 16 && bits != 32 && bits != 64)
                return "integer width must be 8, 16, 32 or 64";
            c->umax = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
        }
        return NULL;
    case PQF_LT_NONE:
    case PQF_LT_BSON:
        break;
    default:
        return "logical type not supported for input";
    }
    switch (c->phys) {
    case PQF_BOOLEAN:
        c->kind = PQF__V_BOOL;
        return NULL;
    case PQF_INT32:
        c->kind = PQF__V_INT;
        c->imin = INT32_MIN;
        c->imax = INT32_MAX;
        return NULL;
    case PQF_INT64:
        c->kind = PQF__V_INT;
        c->imin = INT64_MIN;
        c->imax = INT64_MAX;
        return NULL;
    case PQF_FLOAT:
        c->kind = PQF__V_FLOAT;
        return NULL;
    case PQF_DOUBLE:
        c->kind = PQF__V_DOUBLE;
        return NULL;
    case PQF_BYTE_ARRAY:
        c->kind = PQF__V_BINARY;
        return NULL;
    case PQF_FIXED_LEN_BYTE_ARRAY:
        c->kind = PQF__V_FIXED;
        return NULL;
    default:
        return "physical type not supported for input (INT96)";
    }
}

void pqf__conv_describe(const pqf__conv *c, char *buf, size_t cap)
{
    static const char *units[] = {"ms", "us", "ns"};
    switch (c->kind) {
    case PQF__V_BOOL:
        snprintf(buf, cap, "bool");
        break;
    case PQF__V_INT:
        if (c->is_unsigned)
            snprintf(buf, cap, "uint%d",
                     c->umax == UINT64_MAX ? 64 : c->umax == UINT32_MAX ? 32
                                              : c->umax == 0xFFFF       ? 16
                                                                        : 8);
        else
            snprintf(buf, cap, "int%d",
                     c->imax == INT64_MAX ? 64 : c->imax == INT32_MAX ? 32
                                             : c->imax == 32767       ? 16
                                                                      : 8);
        break;
    case PQF__V_FLOAT:
        snprintf(buf, cap, "float");
        break;
    case PQF__V_DOUBLE:
        snprintf(buf, cap, "double");
        break;
    case PQF__V_STRING:
        snprintf(buf, cap, "string");
        break;
    case PQF__V_BINARY:
        snprintf(buf, cap, "binary");
        break;
    case PQF__V_FIXED:
        snprintf(buf, cap, "fixed(%d)", c->fixed_len);
        break;
    case PQF__V_JSON:
        snprintf(buf, cap, "json");
        break;
    case PQF__V_DECIMAL:
        snprintf(buf, cap, "decimal(%d,%d)", c->precision, c->scale);
        break;
    case PQF__V_DATE:
        snprintf(buf, cap, "date");
        break;
    case PQF__V_TIME:
        snprintf(buf, cap, "time_%s", units[c->unit]);
        break;
    case PQF__V_TIMESTAMP:
        snprintf(buf, cap, "timestamp_%s%s", units[c->unit], c->utc ? "" : " (local)");
        break;
    case PQF__V_UUID:
        snprintf(buf, cap, "uuid");
        break;
    }
}

static const int64_t unit_per_sec[] = {1000, 1000000, 1000000000};
static const int32_t nanos_per_unit[] = {1000000, 1000, 1};
_Static_assert(sizeof unit_per_sec / sizeof unit_per_sec[0] == 3, "three time units");

const char *pqf__value_parse(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    switch (c->kind) {
    case PQF__V_INT: {
        if (c->is_unsigned) {
            uint64_t u;
            if (!pqf__parse_u64(s, n, &u)) {
                int64_t tmp;
                return pqf__parse_i64(s, n, &tmp) ? "out of range" : "not an integer";
            }
            if (u > c->umax)
                return "out of range";
            if (c->phys == PQF_INT32)
                v->u.i32 = (int32_t)(uint32_t)u;
            else
                v->u.i64 = (int64_t)u;
            return NULL;
        }
        int64_t x;
        if (!pqf__parse_i64(s, n, &x)) {
            uint64_t u;
            return pqf__parse_u64(s, n, &u) ? "out of range" : "not an integer";
        }
        if (x < c->imin || x > c->imax)
            return "out of range";
        if (c->phys == PQF_INT32)
            v->u.i32 = (int32_t)x;
        else
            v->u.i64 = x;
        return NULL;
    }
    case PQF__V_DOUBLE:
        return pqf__parse_double(s, n, &v->u.d) ? NULL : "not a number";
    case PQF__V_FLOAT: {
        double d;
        if (!pqf__parse_double(s, n, &d))
            return "not a number";
        v->u.f = (float)d;
        return NULL;
    }
    case PQF__V_BOOL:
        return pqf__parse_bool(s, n, &v->u.b) ? NULL : "not a boolean";
    case PQF__V_STRING:
        if (!pqf__utf8_valid(s, n))
            return "invalid UTF-8";
        v->p = s;
        v->n = n;
        return NULL;
    case PQF__V_BINARY:
    case PQF__V_JSON:
        v->p = s;
        v->n = n;
        return NULL;
    case PQF__V_FIXED:
        if (n != (size_t)c->fixed_len)
            return "wrong length for a fixed-length column";
        v->p = s;
        v->n = n;
        return NULL;
    case PQF__V_DATE:
        return pqf__parse_date(s, n, &v->u.i32) ? NULL : "not a date (YYYY-MM-DD)";
    case PQF__V_TIME: {
        int64_t ns;
        if (!pqf__parse_time(s, n, &ns))
            return "not a time (HH:MM:SS[.fff])";
        if (ns % nanos_per_unit[c->unit])
            return "more precise than the column's unit";
        if (c->unit == PQF_MILLIS)
            v->u.i32 = (int32_t)(ns / 1000000);
        else
            v->u.i64 = ns / nanos_per_unit[c->unit];
        return NULL;
    }
    case PQF__V_TIMESTAMP: {
        int64_t secs;
        int32_t ns, off;
        bool has_off;
        if (!pqf__parse_timestamp(s, n, &secs, &ns, &has_off, &off))
            return "not an ISO-8601 timestamp";
        if (has_off) {
            if (!c->utc)
                return "has a UTC offset but the column is a local timestamp";
            secs -= off;
        }
        if (ns % nanos_per_unit[c->unit])
            return "more precise than the column's unit";
        int64_t r;
        if (__builtin_mul_overflow(secs, unit_per_sec[c->unit], &r) ||
            __builtin_add_overflow(r, (int64_t)(ns / nanos_per_unit[c->unit]), &r))
            return "out of range";
        v->u.i64 = r;
        return NULL;
    }
    case PQF__V_UUID:
        if (!pqf__parse_uuid(s, n, v->scratch))
            return "not a UUID";
        v->p = v->scratch;
        v->n = 16;
        return NULL;
    case PQF__V_DECIMAL: {
        __int128 x;
        const char *why = pqf__parse_decimal(s, n, c->precision, c->scale, &x);
        if (why)
            return why;
        if (c->phys == PQF_INT32) {
            v->u.i32 = (int32_t)x;
        } else if (c->phys == PQF_INT64) {
            v->u.i64 = (int64_t)x;
        } else {
            int len = c->fixed_len;
            if (c->phys == PQF_BYTE_ARRAY) { /* minimal two's complement */
                len = 1;
                while (len < 16) {
                    __int128 lim = (__int128)1 << (8 * len - 1);
                    if (x >= -lim && x < lim)
                        break;
                    len++;
                }
            }
            unsigned __int128 ux = (unsigned __int128)x;
            for (int idx = 0; idx < len; idx++) /* idx 0 = least significant byte */
                v->scratch[len - 1 - idx] =
                    idx < 16 ? (uint8_t)(ux >> (8 * idx)) : (uint8_t)(x < 0 ? 0xFF : 0);
            v->p = v->scratch;
            v->n = (size_t)len;
        }
        return NULL;
    }
    }
    return "unsupported column type";
}

/* Order of two values of one converter (numbers by value, bytes as unsigned
 * strings, FIXED decimals as big-endian two's complement). */
int pqf__val_cmp(const pqf__conv *c, const pqf__val *a, const pqf__val *b)
{
    switch (c->phys) {
    case PQF_BOOLEAN:
        return (int)a->u.b - (int)b->u.b;
    case PQF_INT32:
        if (c->is_unsigned)
            return (uint32_t)a->u.i32 < (uint32_t)b->u.i32 ? -1 : (uint32_t)a->u.i32 > (uint32_t)b->u.i32;
        return a->u.i32 < b->u.i32 ? -1 : a->u.i32 > b->u.i32;
    case PQF_INT64:
        if (c->is_unsigned)
            return (uint64_t)a->u.i64 < (uint64_t)b->u.i64 ? -1 : (uint64_t)a->u.i64 > (uint64_t)b->u.i64;
        return a->u.i64 < b->u.i64 ? -1 : a->u.i64 > b->u.i64;
    case PQF_FLOAT:
        return a->u.f < b->u.f ? -1 : a->u.f > b->u.f;
    case PQF_DOUBLE:
        return a->u.d < b->u.d ? -1 : a->u.d > b->u.d;
    default: {
        const uint8_t *x = a->p, *y = b->p;
        if (c->kind == PQF__V_DECIMAL && a->n && b->n && ((x[0] ^ y[0]) & 0x80))
            return (x[0] & 0x80) ? -1 : 1; /* different signs */
        size_t n = a->n < b->n ? a->n : b->n;
        int r = n ? memcmp(x, y, n) : 0;
        if (r)
            return r;
        return a->n < b->n ? -1 : a->n > b->n;
    }
    }
}


/* ---- padded fast paths -------------------------------------------------------- */

/* The CSV reader's fields are followed by at least PQF__PARSE_PAD readable
 * bytes, so digits can be read 8 at a time (SWAR) without a bound check per
 * byte. Only the common spellings are handled here, with exactly the results
 * of the scalar parsers above; anything else (and every error) goes to
 * pqf__value_parse, so messages and corner cases stay in one place. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__

static inline uint64_t load8(const char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

/* Nonzero bytes where v's bytes are not ASCII digits. A carry out of the +6
 * only reaches bytes after a non-digit, so the lowest flagged byte is exact. */
static inline uint64_t nondigits(uint64_t v)
{
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, three = 0x3030303030303030ull;
    return ((v & hi) ^ three) | (((v + 0x0606060606060606ull) & hi) ^ three);
}

/* Leading digits of s[0..n), at most 16 counted. */
static inline size_t digit_run(const char *s, size_t n)
{
    uint64_t m = nondigits(load8(s));
    size_t k = m ? (size_t)__builtin_ctzll(m) / 8 : 8;
    if (k == 8 && n > 8) {
        m = nondigits(load8(s + 8));
        k = m ? 8 + (size_t)__builtin_ctzll(m) / 8 : 16;
    }
    return k < n ? k : n;
}

/* Value of k (1..8) digits at s, known to be digits. */
static inline uint64_t digits8(const char *s, size_t k)
{
    uint64_t t = (load8(s) ^ 0x3030303030303030ull) << (8 * (8 - k));
    t = (t * 2561) >> 8;
    t = ((t & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
    return ((t & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32;
}

/* Value of k (1..16) digits at s. */
static inline uint64_t digits16(const char *s, size_t k)
{
    if (k <= 8)
        return digits8(s, k);
    return digits8(s, k - 8) * 100000000u + digits8(s + k - 8, 8);
}

static const uint64_t pow10_u64[] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull,
                                     10000000000000000ull,
                                     100000000000000000ull,
                                     1000000000000000000ull};

/* A leading sign without a branch (the sign of real data is random, so a
 * branch on it is mispredicted half the time): *i = 1 after a sign, and the
 * result says negative. s[0] is readable even when n is 0 (the pad). */
static inline bool lead_sign(const char *s, size_t n, size_t *i)
{
    const char c0 = s[0];
    const bool some = n != 0;
    *i = (size_t)(((c0 == '-') | (c0 == '+')) & some);
    return (c0 == '-') & some;
}

/* neg ? -u : u without a branch (two's complement: (u ^ m) - m, m all ones). */
static inline int64_t with_sign(uint64_t u, bool neg)
{
    const uint64_t m = 0 - (uint64_t)neg;
    return (int64_t)((u ^ m) - m);
}

/* [-+]digits{1,16} -> value; false when not that shape (the caller falls back). */
static inline bool fast_i64(const char *s, size_t n, int64_t *out)
{
    size_t i;
    const bool neg = lead_sign(s, n, &i);
    size_t k = n - i;
    if (k == 0 || k > 16 || digit_run(s + i, k) != k)
        return false;
    *out = with_sign(digits16(s + i, k), neg);
    return true;
}

/* [-+]int[.frac] with int+frac <= 18 digits, frac <= scale, no leading zero
 * (a lone 0 is fine) -> unscaled value within precision. */
static inline bool fast_decimal(const char *s, size_t n, int precision, int scale, int64_t *out)
{
    size_t i;
    const bool neg = lead_sign(s, n, &i);
    size_t a = digit_run(s + i, n - i);
    if (a == 0 || a > 16 || (a > 1 && s[i] == '0'))
        return false;
    size_t ip = (a == 1 && s[i] == '0') ? 0 : a;
    uint64_t u = digits16(s + i, a);
    i += a;
    size_t b = 0;
    if (i < n) {
        if (s[i] != '.')
            return false;
        i++;
        b = digit_run(s + i, n - i);
        if (b == 0 || b > (size_t)scale || i + b != n)
            return false;
    }
    if (ip + (size_t)scale > (size_t)precision || precision > 18)
        return false;
    u = u * pow10_u64[scale];
    if (b)
        u += digits16(s + i, b) * pow10_u64[(size_t)scale - b];
    *out = with_sign(u, neg);
    return true;
}

/* [-+]int[.frac], at most 19 digits in all, no exponent -> the value that
 * pqf__parse_double's exact path gives. */
static inline bool fast_double(const char *s, size_t n, double *out)
{
    size_t i;
    const bool neg = lead_sign(s, n, &i);
    size_t a = digit_run(s + i, n - i);
    if (a > 16)
        return false;
    uint64_t m = a ? digits16(s + i, a) : 0;
    i += a;
    size_t b = 0;
    if (i < n) {
        if (s[i] != '.')
            return false;
        i++;
        b = digit_run(s + i, n - i);
        if (b > 16 || i + b != n || a + b > 19)
            return false;
        if (b)
            m = m * pow10_u64[b] + digits16(s + i, b);
    }
    if (a + b == 0 || m > (1ull << 53))
        return false;
    double d = (double)m;
    d = b ? d / pow10_exact[b] : d * pow10_exact[0];
    uint64_t bits;
    memcpy(&bits, &d, 8);
    bits ^= (uint64_t)neg << 63; /* -d, also for 0 (-0.0, as the reference gives) */
    memcpy(out, &bits, 8);
    return true;
}

static inline unsigned dv(const char *s, int k)
{
    return (unsigned)(unsigned char)s[k] - '0';
}

/* pqf__days_from_civil for years 0..9999, inlined and in unsigned arithmetic
 * (400 years added so that January and February of year 0 stay positive):
 * every division is by a constant. */
static inline int64_t days_from_civil_0_9999(unsigned y, unsigned m, unsigned d)
{
    const unsigned yy = y + 400 - (m <= 2);
    const unsigned era = yy / 400, yoe = yy - era * 400;
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468 - 146097;
}

/* YYYY-MM-DD at s (10 bytes readable) -> days; false unless valid. */
static inline __attribute__((always_inline)) bool fast_date(const char *s, int64_t *days)
{
    /* digits at 0-3, 5-6, 8-9; '-' at 4 and 7 */
    uint64_t nd = nondigits(load8(s)) & 0x00FFFF00FFFFFFFFull;
    if (nd || s[4] != '-' || s[7] != '-' || dv(s, 8) > 9 || dv(s, 9) > 9)
        return false;
    unsigned y = dv(s, 0) * 1000 + dv(s, 1) * 100 + dv(s, 2) * 10 + dv(s, 3);
    unsigned mo = dv(s, 5) * 10 + dv(s, 6), d = dv(s, 8) * 10 + dv(s, 9);
    static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1)
        return false;
    unsigned maxd = mdays[mo - 1];
    if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        maxd = 29;
    if (d > maxd)
        return false;
    *days = days_from_civil_0_9999(y, mo, d);
    return true;
}

/* YYYY-MM-DD(T| )HH:MM:SS[.f{1,9}][Z] -> seconds and nanoseconds; *zulu when
 * it ends in Z. Other spellings (offsets, no seconds, ',') are not handled. */
static inline __attribute__((always_inline)) bool
fast_timestamp(const char *s, size_t n, int64_t *secs, int32_t *nanos, bool *zulu)
{
    int64_t days;
    if (n < 19 || !fast_date(s, &days))
        return false;
    /* bytes 8..15: DD T HH : MM */
    uint64_t nd = nondigits(load8(s + 8)) & 0xFFFF00FFFF00FFFFull;
    if (nd || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
        dv(s, 17) > 9 || dv(s, 18) > 9)
        return false;
    unsigned h = dv(s, 11) * 10 + dv(s, 12), mi = dv(s, 14) * 10 + dv(s, 15);
    unsigned sec = dv(s, 17) * 10 + dv(s, 18);
    if (h > 23 || mi > 59 || sec > 59)
        return false;
    size_t i = 19;
    int32_t ns = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t k = digit_run(s + i, n - i);
        if (k == 0 || k > 9)
            return false;
        ns = (int32_t)(digits16(s + i, k) * pow10_u64[9 - k]);
        i += k;
    }
    *zulu = false;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        *zulu = true;
        i++;
    }
    if (i != n)
        return false;
    *secs = days * 86400 + (int64_t)(h * 3600 + mi * 60 + sec);
    *nanos = ns;
    return true;
}

/* ASCII (so valid UTF-8) in s[0..n)? Whole 8-byte words, the last one masked. */
static inline bool fast_ascii(const char *s, size_t n)
{
#if defined(__SSE2__)
    /* up to 32 bytes (the pad makes s[0..32) readable): one test, no loop
     * whose trip count changes with every value */
    if (PQF_LIKELY(n <= 32)) {
        const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
        const __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
        const uint32_t hi = (uint32_t)_mm_movemask_epi8(x) | (uint32_t)_mm_movemask_epi8(y) << 16;
        return (hi & (uint32_t)((1ull << n) - 1)) == 0;
    }
#endif
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc |= load8(s + i);
    if (i < n)
        acc |= load8(s + i) & ((1ull << (8 * (n - i))) - 1);
    return (acc & 0x8080808080808080ull) == 0;
}

/* One small parser per kind (light prologues: the hot loop calls them
 * through pqf__value_padded_fn); each falls back to pqf__value_parse, which
 * gives the same values and the reasons, for any spelling it does not take. */
/* An integer (or unscaled decimal) into the member of c's physical type. */
static inline const char *set_int(const pqf__conv *c, int64_t x, pqf__val *v)
{
    if (c->phys == PQF_INT32)
        v->u.i32 = (int32_t)x;
    else
        v->u.i64 = x;
    return NULL;
}

static const char *pp_int(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    int64_t x;
    if (c->is_unsigned || !fast_i64(s, n, &x) || x < c->imin || x > c->imax)
        return pqf__value_parse(c, s, n, v);
    return set_int(c, x, v);
}

static const char *pp_decimal(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    int64_t x;
    if ((c->phys != PQF_INT32 && c->phys != PQF_INT64) ||
        !fast_decimal(s, n, c->precision, c->scale, &x))
        return pqf__value_parse(c, s, n, v);
    return set_int(c, x, v);
}

static const char *pp_double(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    if (!fast_double(s, n, &v->u.d))
        return pqf__value_parse(c, s, n, v);
    return NULL;
}

static const char *pp_date(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    int64_t d;
    if (n != 10 || !fast_date(s, &d))
        return pqf__value_parse(c, s, n, v);
    v->u.i32 = (int32_t)d;
    return NULL;
}

/* One per unit, so the unit's divisions are by constants (multiplications)
 * instead of two integer divisions per value. */
static inline __attribute__((always_inline)) const char *
pp_timestamp_unit(const pqf__conv *c, const char *s, size_t n, pqf__val *v, int64_t per_sec,
                  int32_t ns_per_unit)
{
    int64_t secs, r;
    int32_t ns;
    bool zulu;
    if (!fast_timestamp(s, n, &secs, &ns, &zulu) || (zulu && !c->utc) || ns % ns_per_unit ||
        __builtin_mul_overflow(secs, per_sec, &r) ||
        __builtin_add_overflow(r, (int64_t)(ns / ns_per_unit), &r))
        return pqf__value_parse(c, s, n, v);
    v->u.i64 = r;
    return NULL;
}

static const char *pp_timestamp_ms(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    return pp_timestamp_unit(c, s, n, v, 1000, 1000000);
}

static const char *pp_timestamp_us(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    return pp_timestamp_unit(c, s, n, v, 1000000, 1000);
}

static const char *pp_timestamp_ns(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    return pp_timestamp_unit(c, s, n, v, 1000000000, 1);
}

static const char *pp_bool(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    /* "true" / "false" as little-endian words, tested without a branch on
     * which (real data has them at random) */
    const uint64_t w = load8(s);
    const bool t = (n == 4) & ((w & 0xFFFFFFFFull) == 0x65757274ull);
    const bool f = (n == 5) & ((w & 0xFFFFFFFFFFull) == 0x65736C6166ull);
    if (PQF_UNLIKELY((int)t + (int)f == 0)) /* a sum: GCC splits "!(t | f)" into two branches */
        return pqf__value_parse(c, s, n, v);
    v->u.b = t;
    return NULL;
}

static const char *pp_string(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    if (!fast_ascii(s, n))
        return pqf__value_parse(c, s, n, v);
    v->p = s;
    v->n = n;
    return NULL;
}

pqf__parse_fn pqf__value_padded_fn(const pqf__conv *c)
{
    switch (c->kind) {
    case PQF__V_INT:
        return pp_int;
    case PQF__V_DECIMAL:
        return pp_decimal;
    case PQF__V_DOUBLE:
        return pp_double;
    case PQF__V_DATE:
        return pp_date;
    case PQF__V_TIMESTAMP:
        return c->unit == PQF_MILLIS   ? pp_timestamp_ms
               : c->unit == PQF_MICROS ? pp_timestamp_us
                                       : pp_timestamp_ns;
    case PQF__V_BOOL:
        return pp_bool;
    case PQF__V_STRING:
        return pp_string;
    default:
        return pqf__value_parse;
    }
}

const char *pqf__value_parse_padded(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    return pqf__value_padded_fn(c)(c, s, n, v);
}

#else /* big-endian: the scalar parsers only */

pqf__parse_fn pqf__value_padded_fn(const pqf__conv *c)
{
    (void)c;
    return pqf__value_parse;
}

const char *pqf__value_parse_padded(const pqf__conv *c, const char *s, size_t n, pqf__val *v)
{
    return pqf__value_parse(c, s, n, v);
}

#endif
