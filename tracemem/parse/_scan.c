/* _scan.c -- the compiled line splitter of tracemem's strace fast path.
 *
 * One call scans a block of strace lines (ASCII text, lines joined by "\n") and takes the
 * lines it is sure of:
 *
 *   'S'  a complete syscall line: "[pid] [stamp] name(args) = ret [errno (msg)|(detail)] [<dur>]"
 *   'U'  an "<unfinished ...>" line whose task's next line is its "<... name resumed>" end
 *   'J'  that resumed end: the two make one complete event, emitted at this line
 *
 * Every other line is left to the Python state machine (which uses the grammar's terminals and,
 * for anything unusual, Lark itself):
 *
 *   'X'  a syscall line this scanner will not take (decorations, unusual endings, a resumed half
 *        without its start in view, execve, the block's last line, ...)
 *   'G'  a signal or exit line ("--- SIG... ---", "+++ exited with 0 +++")
 *   'O'  anything else (program output, frames, notices, tables, blank lines, -n/-i/-Y prefixes)
 *
 * What it takes must be exactly what the Python fast path (and so the grammar) makes of the same
 * lines; it declines whenever it is not certain. The rules, mirrored from
 * tracemem/parse/strace.py (the block regex built from the grammar's terminals, the "rest"
 * expression and _join_args), are:
 *
 *   prefix   [ \t]* ( \d{1,9}[ \t]+ | "[pid" " "+ \d{1,9} "]" [ \t]* )?
 *            ( (HH:MM:SS(\.\d{1,9})? | \d+\.\d{1,9} | \d{10,11}) [ \t]+ )?
 *            (the grammar's prefix with the ranges lines.py checks after a Lark parse: a time of
 *            day, a pid of nine digits at most, an epoch stamp of 10 or 11 digits; a line out of
 *            them is 'O', and so is its block)
 *   head     NAME "("  |  "<... " NAME " resumed>"
 *   args     the ARGS terminal: strings, comments, brackets (any close for any open, six
 *            levels) and simple -y decorations ("<" [^<>]* ">" not ending in "->"); other "<"
 *            forms ("<<", nested or "->" decorations of -yy) are left to Python
 *   tail     "<unfinished ...>" at the end of the line, or ")" [ \t]* "=" [ \t]* RETVAL then
 *            [ \t]* DECO? [ \t]* (E[A-Z0-9_]+)? [ \t]* ("(" [^()]* ")")? [ \t]*
 *            ("<" \d+(\.\d{1,9})? ">")? [ \t]*
 *
 * A task's unfinished call is joined to its resumed end only when the state machine would join
 * them with nothing else happening: the task's previous resumed call in this block completed
 * (so nothing of it is pending), its very next line is the resumed end with the same name, the
 * name is not execve/execveat, and the end is not the block's last line.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define K_S 'S'
#define K_U 'U'
#define K_J 'J'
#define K_X 'X'
#define K_G 'G'
#define K_O 'O'

/* what a syscall-form line is */
#define F_NONE 0
#define F_CALL 1        /* complete call */
#define F_UNF 2         /* name(... <unfinished ...> */
#define F_RES 3         /* <... name resumed> ... = ret */
#define F_RES_UNF 4     /* <... name resumed> ... <unfinished ...> */
#define F_UNKNOWN 5     /* a syscall head, rest not understood */

typedef struct {
    Py_ssize_t s, e;
} span;

typedef struct {
    Py_ssize_t start, end;     /* the line */
    char form;
    char clean;                /* fully understood (claimable) */
    char execve;
    long long pid;             /* -1: none */
    Py_ssize_t partner;        /* J: the line index of its start */
    span pidtxt, stamp, name, args, ret, err, msg, detail, dur;
} rec;

/* Python's str.isspace() for ASCII */
static inline int py_space(unsigned char c) {
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_hex(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline int name_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static inline int name_char(unsigned char c) { return name_start(c) || is_digit(c); }
static inline int ws(unsigned char c) { return c == ' ' || c == '\t'; }

static Py_ssize_t skip_ws(const char *t, Py_ssize_t p, Py_ssize_t le) {
    while (p < le && ws((unsigned char)t[p])) p++;
    return p;
}

/* A -y decoration at p ("<" ... ">", e.g. "</usr/lib/libc.so.6>"): the position after it, or -1
 * when it is not one this scanner decides. Taken: no "<" inside and no "-" right before the
 * closing ">" (the grammar's DECO reads "->" as one unit, so "<a->>" is one decoration); not
 * "<unfinished ", "<detached " or "<..." (DECO's lookahead). */
static Py_ssize_t deco_end(const char *t, Py_ssize_t p, Py_ssize_t le) {
    Py_ssize_t n = le - p;
    if ((n >= 12 && memcmp(t + p, "<unfinished ", 12) == 0) ||
        (n >= 10 && memcmp(t + p, "<detached ", 10) == 0) || (n >= 4 && memcmp(t + p, "<...", 4) == 0))
        return -1;
    Py_ssize_t q = p + 1;
    while (q < le && t[q] != '<' && t[q] != '>') q++;
    if (q >= le || t[q] != '>' || t[q - 1] == '-') return -1;
    return q + 1;
}

/* The ARGS extent from p: returns the position where it stops (a ")" or "<" at depth 0, or the
 * end of the line), or -1 when the text is not something this scanner decides. */
static Py_ssize_t scan_args(const char *t, Py_ssize_t p, Py_ssize_t le) {
    int depth = 0;
    while (p < le) {
        unsigned char c = (unsigned char)t[p];
        switch (c) {
        case '"': {
            Py_ssize_t q = p + 1;
            for (;;) {
                if (q >= le) return -1;
                unsigned char d = (unsigned char)t[q];
                if (d == '\\') {
                    if (q + 1 >= le) return -1;
                    q += 2;
                    continue;
                }
                if (d == '"') break;
                q++;
            }
            p = q + 1;
            break;
        }
        case '/':
            if (p + 1 < le && t[p + 1] == '*') {
                Py_ssize_t q = p + 2;
                for (;;) {
                    if (q + 1 >= le) return -1;
                    if (t[q] == '*' && t[q + 1] == '/') break;
                    q++;
                }
                p = q + 2;
            } else {
                p++;
            }
            break;
        case '(': case '[': case '{':
            if (++depth > 6) return -1;
            p++;
            break;
        case ')': case ']': case '}':
            if (depth == 0) return c == ')' ? p : -1;
            depth--;
            p++;
            break;
        case '<': {
            /* "<<" is an atom of its own: left to Python */
            Py_ssize_t q = (p + 1 < le && t[p + 1] == '<') ? -1 : deco_end(t, p, le);
            if (q < 0) return depth == 0 ? p : -1;
            p = q;
            break;
        }
        default:
            p++;
        }
    }
    return depth == 0 ? p : -1;
}

static const char UNF_TEXT[] = "<unfinished ...>";
#define UNF_LEN 16

/* Parse one line [ls, le) into r; returns its kind before pairing (S, X, G, O). */
static char parse_line(const char *t, Py_ssize_t ls, Py_ssize_t le, rec *r) {
    memset(r, 0, sizeof(*r));
    r->start = ls;
    r->end = le;
    r->pid = -1;
    r->form = F_NONE;
    Py_ssize_t p = skip_ws(t, ls, le);
    /* pid */
    if (p < le && is_digit((unsigned char)t[p])) {
        Py_ssize_t q = p;
        while (q < le && is_digit((unsigned char)t[q])) q++;
        if (q - p <= 9 && q < le && ws((unsigned char)t[q])) {
            r->pidtxt.s = p;
            r->pidtxt.e = q;
            p = skip_ws(t, q, le);
        }
    } else if (le - p > 6 && memcmp(t + p, "[pid ", 5) == 0) {
        Py_ssize_t q = p + 4;
        while (q < le && t[q] == ' ') q++;
        Py_ssize_t d = q;
        while (q < le && is_digit((unsigned char)t[q])) q++;
        /* more than nine digits is no pid (lines.py reports it): left to Python */
        if (q == d || q >= le || t[q] != ']' || q - d > 9) return K_O;
        r->pidtxt.s = d;
        r->pidtxt.e = q;
        p = skip_ws(t, q + 1, le);
    }
    if (r->pidtxt.e > r->pidtxt.s) {
        long long v = 0;
        for (Py_ssize_t k = r->pidtxt.s; k < r->pidtxt.e; k++) v = v * 10 + (t[k] - '0');
        r->pid = v;
    }
    /* stamp */
    if (p < le && is_digit((unsigned char)t[p])) {
        Py_ssize_t q = p, end = -1;
        if (le - p >= 9 && is_digit((unsigned char)t[p + 1]) && t[p + 2] == ':' &&
            is_digit((unsigned char)t[p + 3]) && is_digit((unsigned char)t[p + 4]) && t[p + 5] == ':' &&
            is_digit((unsigned char)t[p + 6]) && is_digit((unsigned char)t[p + 7])) {
            /* a time of day (hours 0-23, minutes and seconds 0-59), else lines.py reports it */
            if (t[p] > '2' || (t[p] == '2' && t[p + 1] > '3') || t[p + 3] > '5' || t[p + 6] > '5') return K_O;
            q = p + 8;
            if (q < le && t[q] == '.') {
                Py_ssize_t f = q + 1;
                while (f < le && is_digit((unsigned char)t[f])) f++;
                if (f - q - 1 >= 1 && f - q - 1 <= 9) q = f;
            }
            if (q < le && ws((unsigned char)t[q])) end = q;
        }
        if (end < 0) {
            q = p;
            while (q < le && is_digit((unsigned char)t[q])) q++;
            if (q < le && t[q] == '.') {
                Py_ssize_t f = q + 1;
                while (f < le && is_digit((unsigned char)t[f])) f++;
                if (f - q - 1 >= 1 && f - q - 1 <= 9 && f < le && ws((unsigned char)t[f])) end = f;
            } else if (q - p >= 10 && q - p <= 11 && q < le && ws((unsigned char)t[q])) {
                /* an epoch stamp without a fraction: 10 or 11 digits (longer: lines.py reports it) */
                end = q;
            }
        }
        if (end < 0) return K_O;
        r->stamp.s = p;
        r->stamp.e = end;
        p = skip_ws(t, end, le);
    }
    if (p >= le) return K_O;
    /* signal / exit lines */
    if (le - p >= 8 && (memcmp(t + p, "--- SIG", 7) == 0 || memcmp(t + p, "+++ ", 4) == 0)) {
        const char *mark = t[p] == '-' ? "---" : "+++";
        Py_ssize_t q = le;
        while (q > p && ws((unsigned char)t[q - 1])) q--;
        if (q - p >= 7 && memcmp(t + q - 3, mark, 3) == 0 && ws((unsigned char)t[q - 4])) {
            /* every fixed-length compare is bounded by the line end: a short last line
             * ("+++ x +++") must not be compared past the end of the text */
            Py_ssize_t n = le - (p + 4);
            if (t[p] == '+' && !((n >= 12 && memcmp(t + p + 4, "exited with ", 12) == 0) ||
                                 (n >= 10 && memcmp(t + p + 4, "killed by ", 10) == 0)))
                return K_O;
            return K_G;
        }
        return K_O;
    }
    /* head */
    int resumed = 0;
    if (le - p >= 4 && memcmp(t + p, "\?\?\?(", 4) == 0) {
        /* the grammar's NAME for a call strace could not name (a thread killed inside it) */
        r->name.s = p;
        r->name.e = p + 3;
        p += 4;
    } else if (le - p >= 17 && memcmp(t + p, "<... \?\?\? resumed>", 17) == 0) {
        r->name.s = p + 5;
        r->name.e = p + 8;
        p += 17;
        resumed = 1;
    } else if (name_start((unsigned char)t[p])) {
        Py_ssize_t q = p + 1;
        while (q < le && name_char((unsigned char)t[q])) q++;
        if (q >= le || t[q] != '(') return K_O;
        r->name.s = p;
        r->name.e = q;
        p = q + 1;
    } else if (le - p > 14 && memcmp(t + p, "<... ", 5) == 0 && name_start((unsigned char)t[p + 5])) {
        Py_ssize_t q = p + 6;
        while (q < le && name_char((unsigned char)t[q])) q++;
        if (le - q < 9 || memcmp(t + q, " resumed>", 9) != 0) return K_O;
        r->name.s = p + 5;
        r->name.e = q;
        p = q + 9;
        resumed = 1;
    } else {
        return K_O;
    }
    r->form = F_UNKNOWN;
    {
        Py_ssize_t n = r->name.e - r->name.s;
        const char *nm = t + r->name.s;
        if ((n == 6 && memcmp(nm, "execve", 6) == 0) || (n == 8 && memcmp(nm, "execveat", 8) == 0))
            r->execve = 1;
    }
    if (r->pidtxt.e > r->pidtxt.s && r->pidtxt.e - r->pidtxt.s > 18) return K_X;
    /* arguments */
    Py_ssize_t a = scan_args(t, p, le);
    if (a < 0) return K_X;
    r->args.s = p;
    r->args.e = a;
    if (a >= le) return K_X;
    if (t[a] == '<') {
        if (le - a == UNF_LEN && memcmp(t + a, UNF_TEXT, UNF_LEN) == 0) {
            r->form = resumed ? F_RES_UNF : F_UNF;
            r->clean = 1;
            return K_X;
        }
        return K_X;
    }
    /* ")" [ \t]* "=" [ \t]* RETVAL */
    p = skip_ws(t, a + 1, le);
    if (p >= le || t[p] != '=') return K_X;
    p = skip_ws(t, p + 1, le);
    if (p >= le) return K_X;
    Py_ssize_t rs = p;
    /* a return value that may not fit in 64 signed bits goes to Python (columns.py reports it) */
    int wide = 0;
    if (le - p >= 3 && t[p] == '0' && t[p + 1] == 'x' && is_hex((unsigned char)t[p + 2])) {
        p += 3;
        while (p < le && is_hex((unsigned char)t[p])) p++;
        Py_ssize_t nd = p - (rs + 2);
        wide = nd > 16 || (nd == 16 && t[rs + 2] > '7');
    } else if (is_digit((unsigned char)t[p]) ||
               (t[p] == '-' && p + 1 < le && is_digit((unsigned char)t[p + 1]))) {
        p++;
        while (p < le && is_digit((unsigned char)t[p])) p++;
        wide = p - rs - (t[rs] == '-') > 18;
    } else if (t[p] == '?') {
        p++;
    } else {
        return K_X;
    }
    r->ret.s = rs;
    r->ret.e = p;
    /* the rest: a decoration, errno, one parenthesis, duration */
    Py_ssize_t q = skip_ws(t, p, le);
    span deco = {0, 0};
    if (q < le && t[q] == '<' && q + 1 < le && !is_digit((unsigned char)t[q + 1])) {
        if (le - q >= 13 && memcmp(t + q, "<unavailable>", 13) == 0) return K_X;
        Py_ssize_t e = (t[q + 1] == '<') ? -1 : deco_end(t, q, le);
        if (e < 0) return K_X;
        deco.s = q;
        deco.e = e;
        p = e;
        q = skip_ws(t, p, le);
    }
    if (q < le && t[q] == 'E' && q + 1 < le) {
        Py_ssize_t e = q + 1;
        while (e < le) {
            unsigned char c = (unsigned char)t[e];
            if ((c >= 'A' && c <= 'Z') || is_digit(c) || c == '_') e++;
            else break;
        }
        if (e > q + 1) {
            r->err.s = q;
            r->err.e = e;
            p = e;
        }
    }
    q = skip_ws(t, p, le);
    if (q < le && t[q] == '(') {
        Py_ssize_t e = q + 1;
        while (e < le && t[e] != ')' && t[e] != '(') e++;
        if (e >= le || t[e] != ')') return K_X;
        span in = {q + 1, e};
        Py_ssize_t n = e - q - 1;
        if (r->err.e > r->err.s) {
            r->msg = in;
        } else {
            if ((n == 8 && memcmp(t + in.s, "INJECTED", 8) == 0) ||
                (n == 7 && memcmp(t + in.s, "DELAYED", 7) == 0))
                return K_X;
            if (r->ret.e - r->ret.s == 2 && memcmp(t + r->ret.s, "-1", 2) == 0) return K_X;
            if (deco.e > 0) return K_X;  /* "<deco>; detail": left to Python */
            r->detail = in;
        }
        p = e + 1;
        q = skip_ws(t, p, le);
        if (q < le && t[q] == '(') return K_X;
    }
    q = skip_ws(t, p, le);
    if (q < le && t[q] == '<') {
        Py_ssize_t e = q + 1, d0 = q + 1;
        while (e < le && is_digit((unsigned char)t[e])) e++;
        if (e == d0) return K_X;
        if (e < le && t[e] == '.') {
            Py_ssize_t f = e + 1;
            while (f < le && is_digit((unsigned char)t[f])) f++;
            if (f - e - 1 < 1 || f - e - 1 > 9) return K_X;
            e = f;
        }
        if (e >= le || t[e] != '>') return K_X;
        r->dur.s = d0;
        r->dur.e = e;
        p = e + 1;
    }
    q = skip_ws(t, p, le);
    if (q != le) return K_X;
    if (deco.e > 0) r->detail = deco;  /* the return value's decoration, brackets included */
    if (wide) return K_X;  /* not paired either: the state machine takes it (form F_UNKNOWN) */
    r->form = resumed ? F_RES : F_CALL;
    r->clean = 1;
    return (resumed || r->execve) ? K_X : K_S;
}

/* per-task pairing state, open addressing keyed by pid (-1: the unprefixed task) */
#define TBITS 12
#define TSIZE (1 << TBITS)
#define TMAX (TSIZE / 2)
#define ST_UNKNOWN 0
#define ST_CLEAN 1
#define ST_OPEN 2

typedef struct {
    long long key;
    int used;
    int state;
    int pairable;
    Py_ssize_t open;   /* line index of the open unfinished call */
} slot;

typedef struct {
    slot *tab;
    int count;
} table;

static slot *lookup(table *tb, long long key) {
    uint64_t h = (uint64_t)(key + 2) * 0x9E3779B97F4A7C15ULL;
    size_t i = (size_t)(h >> (64 - TBITS));
    for (;;) {
        slot *s = &tb->tab[i];
        if (!s->used) {
            if (tb->count >= TMAX) return NULL;
            s->used = 1;
            s->key = key;
            s->state = ST_UNKNOWN;
            tb->count++;
            return s;
        }
        if (s->key == key) return s;
        i = (i + 1) & (TSIZE - 1);
    }
}

static void reset_all(table *tb) {
    for (size_t i = 0; i < TSIZE; i++)
        if (tb->tab[i].used) tb->tab[i].state = ST_UNKNOWN;
}

static PyObject *mkstr(const char *t, span sp) {
    Py_ssize_t n = sp.e - sp.s;
    PyObject *o = PyUnicode_New(n, 127);
    if (o == NULL) return NULL;
    memcpy(PyUnicode_DATA(o), t + sp.s, (size_t)n);
    return o;
}

static span strip(const char *t, span sp) {
    while (sp.s < sp.e && py_space((unsigned char)t[sp.s])) sp.s++;
    while (sp.e > sp.s && py_space((unsigned char)t[sp.e - 1])) sp.e--;
    return sp;
}

/* _join_args of strace.py: the arguments of an unfinished start and its resumed end */
static PyObject *join_args(const char *t, span a, span b) {
    a = strip(t, a);
    b = strip(t, b);
    Py_ssize_t na = a.e - a.s, nb = b.e - b.s;
    if (na == 0) {
        if (nb > 0 && t[b.s] == ',') {
            b.s++;
            while (b.s < b.e && py_space((unsigned char)t[b.s])) b.s++;
        }
        return mkstr(t, b);
    }
    if (nb == 0) {
        if (t[a.e - 1] == ',')
            while (a.e > a.s && (t[a.e - 1] == ',' || t[a.e - 1] == ' ')) a.e--;
        return mkstr(t, a);
    }
    int comma = t[b.s] == ',';
    if (comma)
        while (a.e > a.s && (t[a.e - 1] == ',' || t[a.e - 1] == ' ')) a.e--;
    na = a.e - a.s;
    Py_ssize_t n = na + nb + (comma ? 0 : 1);
    PyObject *o = PyUnicode_New(n, 127);
    if (o == NULL) return NULL;
    char *d = (char *)PyUnicode_DATA(o);
    memcpy(d, t + a.s, (size_t)na);
    if (!comma) d[na++] = ' ';
    memcpy(d + na, t + b.s, (size_t)nb);
    return o;
}

#define NCOLS 11
#define SPARSE_BIT 11
#define FILTER_BIT 12  /* strace.py FILTER_BIT: rows of other names are dropped by the caller */
/* columns of the taken rows */
enum { C_FIRST, C_AT, C_PID, C_STAMP, C_NAME, C_ARGS, C_RET, C_ERRNO, C_MSG, C_DETAIL, C_DUR };

static int append_new(PyObject *list, PyObject *o) {
    if (o == NULL) return -1;
    int rc = PyList_Append(list, o);
    Py_DECREF(o);
    return rc;
}

static PyObject *opt_str(const char *t, span sp, int present) {
    if (!present) Py_RETURN_NONE;
    return mkstr(t, sp);
}

static PyObject *name_str(const char *t, span sp, PyObject *cache) {
    PyObject *o = mkstr(t, sp);
    if (o == NULL) return NULL;
    PyObject *hit = PyDict_GetItemWithError(cache, o);
    if (hit != NULL) {
        Py_DECREF(o);
        Py_INCREF(hit);
        return hit;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(o);
        return NULL;
    }
    PyUnicode_InternInPlace(&o);
    if (PyDict_GET_SIZE(cache) > 10000) PyDict_Clear(cache);  /* junk names must not pile up */
    if (PyDict_SetItem(cache, o, o) < 0) {
        Py_DECREF(o);
        return NULL;
    }
    return o;
}

static PyObject *NAME_CACHE = NULL;

/* scan(text, names=None, mask=all) -> None | (kinds, has_pid, missing_pid, pids, columns)
 *
 * text: the block's lines joined by "\n" (no final newline). None when the text is not ASCII.
 * names: when given, arguments are built only for rows whose syscall is in it (others get "").
 * mask: bit i set = build column i (the emitting line and the name always come; without the
 * stamp column the first row's stamp still does). Columns not built are empty lists. Bit 11
 * (SPARSE), with names: the return value and errno columns hold only the rows whose name is in
 * names, when they are not built whole.
 * kinds: bytes, one kind letter per line. pids: the distinct pid texts of syscall-form lines.
 * columns: first line index, emitting line index, pid (int or None), stamp, name, args, return
 * text, errno, errno message, detail, duration text -- one entry per taken row, in line order.
 */
static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *text, *names = Py_None;
    unsigned long mask = ~0UL;
    if (!PyArg_ParseTuple(args, "U|Ok", &text, &names, &mask)) return NULL;
    mask |= (1UL << C_AT) | (1UL << C_NAME);
    int sparse = names != Py_None && (mask & (1UL << SPARSE_BIT)) != 0;
    int filter = names != Py_None && (mask & (1UL << FILTER_BIT)) != 0;
    if (!PyUnicode_IS_ASCII(text)) Py_RETURN_NONE;
    const char *t = (const char *)PyUnicode_DATA(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    if (names != Py_None && !PyAnySet_Check(names)) {
        PyErr_SetString(PyExc_TypeError, "names must be a set or None");
        return NULL;
    }
    if (NAME_CACHE == NULL) {
        NAME_CACHE = PyDict_New();
        if (NAME_CACHE == NULL) return NULL;
    }

    Py_ssize_t nlines = 1;
    for (const char *c = t; (c = memchr(c, '\n', (size_t)(t + len - c))) != NULL; c++) nlines++;

    rec *recs = PyMem_Malloc(sizeof(rec) * (size_t)nlines);
    char *kinds = PyMem_Malloc((size_t)nlines + 1);
    slot *tab = PyMem_Calloc(TSIZE, sizeof(slot));
    PyObject *result = NULL, *kinds_obj = NULL, *pids = NULL, *pidseen = NULL;
    PyObject *cols[NCOLS] = {0};
    if (recs == NULL || kinds == NULL || tab == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    table tb = {tab, 0};
    int has_pid = 0, missing_pid = 0;
    pids = PyList_New(0);
    pidseen = PySet_New(NULL);
    if (pids == NULL || pidseen == NULL) goto done;

    Py_ssize_t ls = 0;
    for (Py_ssize_t i = 0; i < nlines; i++) {
        const char *nl = memchr(t + ls, '\n', (size_t)(len - ls));
        Py_ssize_t le = nl ? (Py_ssize_t)(nl - t) : len;
        rec *r = &recs[i];
        char k = parse_line(t, ls, le, r);
        ls = le + 1;
        if (k == K_O || k == K_G) {
            kinds[i] = k;
            continue;
        }
        /* a syscall-form line */
        if (r->pid >= 0) {
            has_pid = 1;
            PyObject *ptxt = mkstr(t, r->pidtxt);
            if (ptxt == NULL) goto done;
            int seen = PySet_Contains(pidseen, ptxt);
            if (seen == 0 && (PySet_Add(pidseen, ptxt) < 0 || PyList_Append(pids, ptxt) < 0)) seen = -1;
            Py_DECREF(ptxt);
            if (seen < 0) goto done;
        } else {
            missing_pid = 1;
        }
        if (r->execve) {
            /* a thread's execve moves calls between tasks: nothing is paired across it */
            reset_all(&tb);
            kinds[i] = K_X;
            continue;
        }
        if (i == nlines - 1) k = K_X;  /* the block's last line: the state machine sees it */
        kinds[i] = k;
        slot *s = lookup(&tb, r->pid);
        if (s == NULL) continue;
        switch (r->form) {
        case F_CALL:
            /* a complete call changes nothing pending */
            break;
        case F_UNF:
            /* pairable only when nothing of this task can be pending before it */
            s->pairable = s->state == ST_CLEAN;
            s->state = ST_OPEN;
            s->open = i;
            kinds[i] = K_X;  /* becomes U when its end is taken */
            break;
        case F_RES:
            if (s->state == ST_OPEN && s->pairable && i != nlines - 1) {
                rec *o = &recs[s->open];
                if (o->name.e - o->name.s == r->name.e - r->name.s &&
                    memcmp(t + o->name.s, t + r->name.s, (size_t)(r->name.e - r->name.s)) == 0) {
                    kinds[s->open] = K_U;
                    kinds[i] = K_J;
                    r->partner = s->open;
                }
            }
            /* whatever the state machine does with a complete resumed end, nothing of this
             * task is pending after it */
            s->state = ST_CLEAN;
            break;
        default:
            /* resumed-then-unfinished, or not understood: the state machine decides */
            s->state = ST_UNKNOWN;
            break;
        }
    }

    for (int c = 0; c < NCOLS; c++) {
        cols[c] = PyList_New(0);
        if (cols[c] == NULL) goto done;
    }
    for (Py_ssize_t i = 0; i < nlines; i++) {
        char k = kinds[i];
        if (k != K_S && k != K_J) continue;
        rec *r = &recs[i];
        Py_ssize_t fi = k == K_J ? r->partner : i;
        rec *first = &recs[fi];
        PyObject *name = name_str(t, r->name, NAME_CACHE);
        if (name == NULL) goto done;
        if (append_new(cols[C_NAME], name) < 0) goto done;
        int want = 1;
        if (names != Py_None) {
            want = PySet_Contains(names, PyList_GET_ITEM(cols[C_NAME], PyList_GET_SIZE(cols[C_NAME]) - 1));
            if (want < 0) goto done;
        }
        if (mask & (1UL << C_ARGS)) {
            PyObject *a;
            if (!want && filter) { Py_INCREF(Py_None); a = Py_None; }
            else if (!want) a = PyUnicode_New(0, 127);
            else if (k == K_J) a = join_args(t, first->args, r->args);
            else a = mkstr(t, strip(t, r->args));
            if (append_new(cols[C_ARGS], a) < 0) goto done;
        }
#define WANT(c) (mask & (1UL << (c)))
        if (WANT(C_FIRST) && append_new(cols[C_FIRST], PyLong_FromSsize_t(fi)) < 0) goto done;
        if (append_new(cols[C_AT], PyLong_FromSsize_t(i)) < 0) goto done;
        if (WANT(C_PID) &&
            append_new(cols[C_PID], r->pid >= 0 ? PyLong_FromLongLong(r->pid) : (Py_INCREF(Py_None), Py_None)) < 0)
            goto done;
        /* without the stamp column, the first row's stamp still comes (the kind of clock) */
        if ((WANT(C_STAMP) || PyList_GET_SIZE(cols[C_STAMP]) == 0) &&
            append_new(cols[C_STAMP], mkstr(t, first->stamp)) < 0)
            goto done;
        if (filter && !want) {
            /* FILTER_BIT: a row the caller drops by name (read_trace(only=...)): its lines, pid,
             * name and stamp are built (the clock reads every stamp: midnight rollovers), every
             * other built column holds None */
            int none[] = {C_RET, C_ERRNO, C_MSG, C_DETAIL, C_DUR};
            for (int c = 0; c < 5; c++)
                if (WANT(none[c]) && PyList_Append(cols[none[c]], Py_None) < 0) goto done;
            continue;
        }
        /* SPARSE (without the return value and errno columns): those two only for the rows whose
         * name is in names, in order (columns.py checks the ranges of decoded calls with them) */
        if ((WANT(C_RET) || (sparse && want)) && append_new(cols[C_RET], mkstr(t, r->ret)) < 0) goto done;
        if ((WANT(C_ERRNO) || (sparse && want)) &&
            append_new(cols[C_ERRNO], opt_str(t, r->err, r->err.e > r->err.s)) < 0)
            goto done;
        if (WANT(C_MSG) && append_new(cols[C_MSG], opt_str(t, r->msg, r->msg.e > 0)) < 0) goto done;
        if (WANT(C_DETAIL) && append_new(cols[C_DETAIL], opt_str(t, r->detail, r->detail.e > 0)) < 0) goto done;
        if (WANT(C_DUR) && append_new(cols[C_DUR], mkstr(t, r->dur)) < 0) goto done;
    }
    kinds_obj = PyBytes_FromStringAndSize(kinds, nlines);
    if (kinds_obj == NULL) goto done;
    PyObject *coltuple = PyTuple_New(NCOLS);
    if (coltuple == NULL) goto done;
    for (int c = 0; c < NCOLS; c++) {
        PyTuple_SET_ITEM(coltuple, c, cols[c]);
        cols[c] = NULL;
    }
    result = Py_BuildValue("(NOONN)", kinds_obj, has_pid ? Py_True : Py_False,
                           missing_pid ? Py_True : Py_False, pids, coltuple);
    kinds_obj = NULL;
    pids = NULL;
done:
    for (int c = 0; c < NCOLS; c++) Py_XDECREF(cols[c]);
    Py_XDECREF(kinds_obj);
    Py_XDECREF(pids);
    Py_XDECREF(pidseen);
    PyMem_Free(recs);
    PyMem_Free(kinds);
    PyMem_Free(tab);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "Scan a block of strace lines; see the module source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "Compiled line splitter of the strace fast path.", -1, methods,
};

/* Bumped whenever scan()'s behaviour or result changes; strace.py ignores a stale build. */
#define SCAN_ABI 4

PyMODINIT_FUNC PyInit__scan(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "ABI", SCAN_ABI) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
