/*
 * The compiled walk of transform_lambda/dynamodb_json.py: DynamoDB JSON -> plain JSON values, for
 * what DynamoDB writes. dynamodb_json.item() uses it when it is importable (the artifact always
 * carries it; scripts/build_artifact.py builds it with zig's C compiler for the Lambda's
 * architecture) and the Python walk otherwise.
 *
 * A strict subset of the Python walk, which stays the authority: this walk decides S, N, M, L,
 * BOOL, NULL, SS and NS itself, including the number rule for plain decimals (int64 bounds, at
 * most 15 digits, the shortest-repr comparison, text beyond 17 significant digits) and B / BS
 * values in canonical base64; other number forms go through the Python number(), other base64
 * texts through the Python base64 check. On anything
 * else (a bad value, an unknown tag, nesting too deep) it gives up and the Python walk redoes the
 * whole item, so every error and its message is the Python walk's own.
 *
 * Stable ABI (abi3) from Python 3.11: one binary per architecture serves python3.11-3.13 (tests run
 * it on each) and the runtimes after them.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

/* DynamoDB: "nested attributes up to 32 levels deep" (Developer Guide, Service quotas); the same
 * constant as dynamodb_json.MAX_NESTING_DEPTH, which a test compares with this walk's answer. */
#define MAX_NESTING_DEPTH 32

/* The Python functions this walk hands its rare cases to (see item()). */
typedef struct {
    PyObject *number; /* dynamodb_json.number: numbers off the fast path */
    PyObject *binary; /* dynamodb_json._binary: B values and BS members */
} Fallbacks;

/* NULL without an exception set: "give up, let the Python walk decide". */
#define GIVE_UP NULL

static PyObject *walk_value(PyObject *typed, int depth, const Fallbacks *python);

static PyObject *call_python(PyObject *function, PyObject *argument) {
    return PyObject_CallFunctionObjArgs(function, argument, NULL);
}

/* The number rule of dynamodb_json.number for plain decimals ([-]digits[.digits]); any other form
 * goes to the Python number(). */
static PyObject *number(PyObject *text, const Fallbacks *python) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n); /* NUL-terminated; cached for ASCII */
    if (s == NULL) return NULL;
    Py_ssize_t i = 0, digits = 0, point = -1;
    int negative = 0;
    if (n > 0 && s[0] == '-') negative = 1, i = 1;
    for (Py_ssize_t j = i; j < n; j++) {
        char c = s[j];
        if (c >= '0' && c <= '9') digits++;
        else if (c == '.' && point < 0) point = j;
        else return call_python(python->number, text); /* exponent, sign, non-ASCII: Python */
    }
    if (digits == 0 || point == i || point == n - 1) return call_python(python->number, text);
    /* Significant digits: from the first non-zero digit to the last non-zero one. */
    Py_ssize_t first = i, last = n - 1;
    while (first < n && (s[first] == '0' || s[first] == '.')) first++;
    if (point < 0) {
        Py_ssize_t length = n - first; /* integer digits without leading zeros */
        if (length <= 18) {
            long long value = 0;
            for (Py_ssize_t j = first; j < n; j++) value = value * 10 + (s[j] - '0');
            return PyLong_FromLongLong(negative ? -value : value);
        }
        /* Same-length digit strings compare as their numbers do: the int64 range's ends. */
        if (length == 19 &&
            memcmp(s + first, negative ? "9223372036854775808" : "9223372036854775807", 19) <= 0)
            return PyLong_FromString(s, NULL, 10);
        while (last > first && s[last] == '0') last--;
        if (last - first + 1 > 17) return Py_NewRef(text); /* beyond 64 bits and any double */
        return call_python(python->number, text);
    }
    while (last > point && s[last] == '0') last--;
    if (last == point) return call_python(python->number, text); /* integral: Python decides */
    /* At most 15 significant digits (DBL_DIG) always survive a double: it is exact. */
    if (digits <= 15) {
        double value = PyOS_string_to_double(s, NULL, NULL);
        if (value == -1.0 && PyErr_Occurred()) return NULL;
        if (value == floor(value)) return PyLong_FromDouble(value);
        return PyFloat_FromDouble(value);
    }
    Py_ssize_t significant = last - first + 1 - (first < point && point < last ? 1 : 0);
    if (significant > 17) return Py_NewRef(text); /* more digits than any double has */
    double value = PyOS_string_to_double(s, NULL, NULL);
    if (value == -1.0 && PyErr_Occurred()) return NULL;
    char *shortest = PyOS_double_to_string(value, 'r', 0, 0, NULL);
    if (shortest == NULL) return NULL;
    int same = strcmp(shortest, s) == 0; /* the shortest double is this very text */
    PyMem_Free(shortest);
    return same ? PyFloat_FromDouble(value) : call_python(python->number, text);
}

/* The standard base64 alphabet, as a table: B values run to 400 KB, so a lookup per character
 * (not a chain of comparisons) keeps the check as fast as binascii's decoder (`make bench`, large).
 * Range designators are a GNU C extension, which zig's clang accepts. */
static const unsigned char BASE64_LETTER[256] = {
    ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1, ['+'] = 1, ['/'] = 1,
};

static int is_base64_letter(char c) { return BASE64_LETTER[(unsigned char)c]; }

/* A B value or BS member as an encoder writes it: whole groups of 4 of the standard alphabet, "="
 * only to close the last group. Anything else (which the Python check may still accept, or reject
 * with its own message) goes to the Python base64 check. */
static PyObject *binary(PyObject *text, const Fallbacks *python) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (s == NULL) return NULL;
    int canonical = n % 4 == 0;
    unsigned char letters = 1;
    for (Py_ssize_t i = 0; i < n - 2; i++) letters &= BASE64_LETTER[(unsigned char)s[i]];
    canonical = canonical && letters;
    if (canonical && n >= 4) {
        char third = s[n - 2], fourth = s[n - 1];
        canonical = (is_base64_letter(third) && (is_base64_letter(fourth) || fourth == '=')) ||
                    (third == '=' && fourth == '=');
    }
    return canonical ? Py_NewRef(text) : call_python(python->binary, text);
}

static PyObject *walk_map(PyObject *attributes, int depth, const Fallbacks *python) {
    if (!Py_IS_TYPE(attributes, &PyDict_Type)) return GIVE_UP;
    PyObject *plain = PyDict_New();
    if (plain == NULL) return NULL;
    Py_ssize_t position = 0;
    PyObject *name, *typed;
    while (PyDict_Next(attributes, &position, &name, &typed)) {
        PyObject *value = walk_value(typed, depth, python);
        if (value == NULL || PyDict_SetItem(plain, name, value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(plain);
            return NULL;
        }
        Py_DECREF(value);
    }
    return plain;
}

static PyObject *walk_list(PyObject *values, int depth, const Fallbacks *python) {
    Py_ssize_t n = PyList_Size(values);
    PyObject *plain = PyList_New(n);
    if (plain == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = walk_value(PyList_GetItem(values, i), depth, python);
        if (value == NULL) {
            Py_DECREF(plain);
            return NULL;
        }
        PyList_SetItem(plain, i, value); /* steals the reference; cannot fail here */
    }
    return plain;
}

/* A set's members (a non-empty array of strings), each through convert, or as they are. */
static PyObject *walk_set(PyObject *members, PyObject *(*convert)(PyObject *, const Fallbacks *),
                          const Fallbacks *python) {
    if (!Py_IS_TYPE(members, &PyList_Type)) return GIVE_UP;
    Py_ssize_t n = PyList_Size(members);
    if (n == 0) return GIVE_UP; /* DynamoDB never writes an empty set */
    PyObject *plain = PyList_New(n);
    if (plain == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *member = PyList_GetItem(members, i), *value;
        if (!Py_IS_TYPE(member, &PyUnicode_Type)) {
            Py_DECREF(plain);
            return GIVE_UP;
        }
        value = convert != NULL ? convert(member, python) : Py_NewRef(member);
        if (value == NULL) {
            Py_DECREF(plain);
            return NULL;
        }
        PyList_SetItem(plain, i, value);
    }
    return plain;
}

static PyObject *walk_value(PyObject *typed, int depth, const Fallbacks *python) {
    if (!Py_IS_TYPE(typed, &PyDict_Type) || PyDict_Size(typed) != 1) return GIVE_UP;
    Py_ssize_t position = 0, length;
    PyObject *tag, *raw;
    PyDict_Next(typed, &position, &tag, &raw);
    if (!Py_IS_TYPE(tag, &PyUnicode_Type)) return GIVE_UP;
    const char *t = PyUnicode_AsUTF8AndSize(tag, &length);
    if (t == NULL) return NULL;
    int is_text = Py_IS_TYPE(raw, &PyUnicode_Type);
    switch (length) {
    case 1:
        if (t[0] == 'S') return is_text ? Py_NewRef(raw) : GIVE_UP;
        if (t[0] == 'N') return is_text ? number(raw, python) : GIVE_UP;
        if (t[0] == 'M')
            return depth < MAX_NESTING_DEPTH ? walk_map(raw, depth + 1, python) : GIVE_UP;
        if (t[0] == 'L')
            return depth < MAX_NESTING_DEPTH && Py_IS_TYPE(raw, &PyList_Type)
                       ? walk_list(raw, depth + 1, python)
                       : GIVE_UP;
        if (t[0] == 'B') return is_text ? binary(raw, python) : GIVE_UP;
        return GIVE_UP;
    case 2:
        if (t[1] != 'S') return GIVE_UP;
        if (t[0] == 'S') return walk_set(raw, NULL, python);
        if (t[0] == 'N') return walk_set(raw, number, python);
        if (t[0] == 'B') return walk_set(raw, binary, python);
        return GIVE_UP;
    case 4:
        if (memcmp(t, "BOOL", 4) == 0)
            return Py_IS_TYPE(raw, &PyBool_Type) ? Py_NewRef(raw) : GIVE_UP;
        if (memcmp(t, "NULL", 4) == 0) return raw == Py_True ? Py_NewRef(Py_None) : GIVE_UP;
        return GIVE_UP;
    default:
        return GIVE_UP;
    }
}

/* item(attributes, python_item, number, binary): see dynamodb_json.item. */
static PyObject *item(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "item() takes attributes, python_item, number, binary");
        return NULL;
    }
    const Fallbacks python = {args[2], args[3]};
    PyObject *plain = walk_map(args[0], 0, &python);
    if (plain != NULL) return plain;
    /* Gave up, or the Python number() or base64 check raised: the Python walk decides. */
    if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_ValueError)) return NULL;
    PyErr_Clear();
    return call_python(args[1], args[0]);
}

static PyMethodDef methods[] = {
    {"item", (PyCFunction)(void (*)(void))item, METH_FASTCALL,
     "item(attributes, python_item, number, binary): an item (attribute name -> typed value) as "
     "a plain JSON object; python_item(attributes) decides whatever this walk does not accept."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_dynamodb_json", "The compiled walk of dynamodb_json.", -1, methods,
};

PyMODINIT_FUNC PyInit__dynamodb_json(void) { return PyModule_Create(&module); }
