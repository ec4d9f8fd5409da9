/* Streaming XML reader over expat; see xml.h. */
#include "store/xml.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"

#define XML_MAX_DEPTH 32
#define XML_MAX_PATH 512
#define XML_MAX_TEXT (64 << 10)

struct pqf__xml {
    XML_Parser p;
    pqf__xml_cb on_start, on_end;
    void *ud;
    char path[XML_MAX_PATH + 1];
    size_t plen;
    size_t stack[XML_MAX_DEPTH]; /* path length before each open element */
    size_t depth;
    pqf__buf text;
    pqf_err fail;
    const char *why;
};

static void stop(pqf__xml *x, pqf_err code, const char *why)
{
    if (x->fail == PQF_OK) {
        x->fail = code;
        x->why = why;
    }
    XML_StopParser(x->p, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    pqf__xml *x = ud;
    if (x->fail)
        return;
    const char *local = strchr(name, ':');
    local = local ? local + 1 : name;
    size_t n = strlen(local);
    if (x->depth == XML_MAX_DEPTH) {
        stop(x, PQF_ERR_LIMIT, "elements nested too deep");
        return;
    }
    if (x->plen + n + 1 > XML_MAX_PATH) {
        stop(x, PQF_ERR_LIMIT, "element path too long");
        return;
    }
    x->stack[x->depth++] = x->plen;
    if (x->plen)
        x->path[x->plen++] = '/';
    memcpy(x->path + x->plen, local, n);
    x->plen += n;
    x->path[x->plen] = 0;
    pqf__buf_reset(&x->text);
    if (x->on_start && !x->on_start(x->ud, x->path, NULL, 0))
        stop(x, PQF_ERR_PARSE, "stopped");
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    pqf__xml *x = ud;
    if (x->fail || x->depth == 0)
        return;
    if (pqf__buf_cstr(&x->text) != PQF_OK) {
        stop(x, PQF_ERR_LIMIT, "element text too long");
        return;
    }
    if (x->on_end &&
        !x->on_end(x->ud, x->path, x->text.data ? (const char *)x->text.data : "", x->text.len))
        stop(x, PQF_ERR_PARSE, "stopped");
    pqf__buf_reset(&x->text);
    x->plen = x->stack[--x->depth];
    x->path[x->plen] = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    pqf__xml *x = ud;
    if (x->fail)
        return;
    if (pqf__buf_append(&x->text, s, (size_t)len) != PQF_OK)
        stop(x, PQF_ERR_LIMIT, "element text too long");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    stop(ud, PQF_ERR_PARSE, "DOCTYPE declarations are not accepted");
}

pqf_err pqf__xml_new(pqf__xml_cb start, pqf__xml_cb end, void *ud, pqf__xml **out, pqf_error *err)
{
    pqf__xml *x = calloc(1, sizeof *x);
    *out = NULL;
    if (!x)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    x->p = XML_ParserCreate("UTF-8");
    if (!x->p) {
        free(x);
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    }
    x->on_start = start;
    x->on_end = end;
    x->ud = ud;
    pqf__buf_init(&x->text, XML_MAX_TEXT);
    XML_SetUserData(x->p, x);
    XML_SetElementHandler(x->p, on_start, on_end);
    XML_SetCharacterDataHandler(x->p, on_text);
    XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
    *out = x;
    return PQF_OK;
}

pqf_err pqf__xml_feed(pqf__xml *x, const void *data, size_t len, bool final, pqf_error *err)
{
    if (x->fail)
        return pqf_error_set(err, x->fail, "XML: %s", x->why);
    const char *p = data;
    do {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        bool last = final && (size_t)n == len;
        if (XML_Parse(x->p, p, n, last) != XML_STATUS_OK) {
            if (x->fail)
                return pqf_error_set(err, x->fail, "XML: %s", x->why);
            return pqf_error_set(err, PQF_ERR_PARSE, "XML: %s at line %lu",
                                 XML_ErrorString(XML_GetErrorCode(x->p)),
                                 (unsigned long)XML_GetCurrentLineNumber(x->p));
        }
        p += n;
        len -= (size_t)n;
    } while (len);
    return PQF_OK;
}

void pqf__xml_free(pqf__xml *x)
{
    if (!x)
        return;
    XML_ParserFree(x->p);
    pqf__buf_free(&x->text);
    free(x);
}

pqf_err pqf__xml_parse(const void *data, size_t len, pqf__xml_cb start, pqf__xml_cb end, void *ud,
                       pqf_error *err)
{
    pqf__xml *x = NULL;
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__xml_new(start, end, ud, &x, err));
    PQF_TRY(pqf__xml_feed(x, data, len, true, err));
done:
    pqf__xml_free(x);
    return rc;
}
