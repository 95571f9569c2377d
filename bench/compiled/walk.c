/*
 * EXPERIMENT, NOT SHIPPED: the per-value walk of transform_lambda/dynamodb_json.py in C, measured
 * by `make bench` (column "compiled") when built with bench/compiled/build.py. It is not in the
 * Lambda artifact; docs/transform.md (Benchmark) records what it gains and the decision.
 *
 * Semantics: a strict subset. The C walk accepts only what it can decide exactly like the Python
 * walk (S, N, M, L, BOOL, NULL, SS, NS inline; B and BS through the Python base64 check; numbers
 * beyond its fast cases through the Python number()). On anything else (a bad value, an unknown
 * tag, nesting too deep) it gives up and the Python walk redoes the whole image, so errors and
 * their messages are the Python walk's own.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

#define MAX_NESTING_DEPTH 32

static PyObject *py_item;   /* dynamodb_json.item: the authority, used when C gives up */
static PyObject *py_number; /* dynamodb_json.number: numbers off the C fast path */
static PyObject *py_binary; /* dynamodb_json._binary: B values */

/* NULL without an exception set: "give up, let Python decide". */
#define GIVE_UP NULL

static PyObject *walk_value(PyObject *typed, int depth);

/* The number rule of dynamodb_json.number for plain decimals ([-]digits[.digits]); any other
 * form goes to the Python number(). */
static PyObject *number(PyObject *text) {
    if (!PyUnicode_IS_ASCII(text)) return PyObject_CallOneArg(py_number, text);
    const char *s = (const char *)PyUnicode_DATA(text); /* compact ASCII: NUL-terminated */
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0, digits = 0, point = -1;
    int negative = 0;
    if (n > 0 && s[0] == '-') negative = 1, i = 1;
    for (Py_ssize_t j = i; j < n; j++) {
        char c = s[j];
        if (c >= '0' && c <= '9') digits++;
        else if (c == '.' && point < 0) point = j;
        else return PyObject_CallOneArg(py_number, text);
    }
    if (digits == 0 || point == i || point == n - 1) return PyObject_CallOneArg(py_number, text);
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
        if (length == 19 &&
            memcmp(s + first, negative ? "9223372036854775808" : "9223372036854775807", 19) <= 0)
            return PyLong_FromString(s, NULL, 10);
        while (last > first && s[last] == '0') last--;
        if (last - first + 1 > 17) return Py_NewRef(text); /* beyond 64 bits, beyond a double */
        return PyObject_CallOneArg(py_number, text);
    }
    while (last > point && s[last] == '0') last--;
    if (last == point) return PyObject_CallOneArg(py_number, text); /* integral: Python */
    /* At most 15 digits (DBL_DIG): the double is exact. */
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
    return same ? PyFloat_FromDouble(value) : PyObject_CallOneArg(py_number, text);
}

static PyObject *walk_map(PyObject *attributes, int depth) {
    if (!PyDict_CheckExact(attributes)) return GIVE_UP;
    PyObject *plain = PyDict_New();
    if (plain == NULL) return NULL;
    Py_ssize_t pos = 0;
    PyObject *name, *typed;
    while (PyDict_Next(attributes, &pos, &name, &typed)) {
        PyObject *value = walk_value(typed, depth);
        if (value == NULL || PyDict_SetItem(plain, name, value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(plain);
            return NULL;
        }
        Py_DECREF(value);
    }
    return plain;
}

static PyObject *walk_list(PyObject *values, int depth) {
    Py_ssize_t n = PyList_GET_SIZE(values);
    PyObject *plain = PyList_New(n);
    if (plain == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = walk_value(PyList_GET_ITEM(values, i), depth);
        if (value == NULL) {
            Py_DECREF(plain);
            return NULL;
        }
        PyList_SET_ITEM(plain, i, value);
    }
    return plain;
}

/* A set's members, each through convert (NULL: copy str members as they are). */
static PyObject *walk_set(PyObject *members, PyObject *(*convert)(PyObject *)) {
    if (!PyList_CheckExact(members) || PyList_GET_SIZE(members) == 0) return GIVE_UP;
    Py_ssize_t n = PyList_GET_SIZE(members);
    PyObject *plain = PyList_New(n);
    if (plain == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *member = PyList_GET_ITEM(members, i), *value;
        if (!PyUnicode_CheckExact(member)) {
            Py_DECREF(plain);
            return GIVE_UP;
        }
        if (convert == NULL) value = Py_NewRef(member);
        else if ((value = convert(member)) == NULL) {
            Py_DECREF(plain);
            return NULL;
        }
        PyList_SET_ITEM(plain, i, value);
    }
    return plain;
}

static PyObject *binary(PyObject *text) { return PyObject_CallOneArg(py_binary, text); }

static PyObject *walk_value(PyObject *typed, int depth) {
    if (!PyDict_CheckExact(typed) || PyDict_GET_SIZE(typed) != 1) return GIVE_UP;
    Py_ssize_t pos = 0;
    PyObject *tag, *raw;
    PyDict_Next(typed, &pos, &tag, &raw);
    if (!PyUnicode_CheckExact(tag) || !PyUnicode_IS_ASCII(tag)) return GIVE_UP;
    const char *t = (const char *)PyUnicode_DATA(tag);
    switch (PyUnicode_GET_LENGTH(tag)) {
    case 1:
        if (t[0] == 'S') return PyUnicode_CheckExact(raw) ? Py_NewRef(raw) : GIVE_UP;
        if (t[0] == 'N') return PyUnicode_CheckExact(raw) ? number(raw) : GIVE_UP;
        if (t[0] == 'M') return depth < MAX_NESTING_DEPTH ? walk_map(raw, depth + 1) : GIVE_UP;
        if (t[0] == 'L')
            return depth < MAX_NESTING_DEPTH && PyList_CheckExact(raw) ? walk_list(raw, depth + 1)
                                                                       : GIVE_UP;
        if (t[0] == 'B') return PyUnicode_CheckExact(raw) ? binary(raw) : GIVE_UP;
        return GIVE_UP;
    case 2:
        if (t[1] != 'S') return GIVE_UP;
        if (t[0] == 'S') return walk_set(raw, NULL);
        if (t[0] == 'N') return walk_set(raw, number);
        if (t[0] == 'B') return walk_set(raw, binary);
        return GIVE_UP;
    case 4:
        if (memcmp(t, "BOOL", 4) == 0)
            return PyBool_Check(raw) ? Py_NewRef(raw) : GIVE_UP;
        if (memcmp(t, "NULL", 4) == 0) return raw == Py_True ? Py_NewRef(Py_None) : GIVE_UP;
        return GIVE_UP;
    default:
        return GIVE_UP;
    }
}

static PyObject *item(PyObject *module, PyObject *attributes) {
    if (py_item == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup() first");
        return NULL;
    }
    PyObject *plain = walk_map(attributes, 0);
    if (plain != NULL) return plain;
    /* Gave up, or Python code (number, _binary) raised: the Python walk decides. */
    if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_ValueError)) return NULL;
    PyErr_Clear();
    return PyObject_CallOneArg(py_item, attributes);
}

static PyObject *setup(PyObject *module, PyObject *args) {
    PyObject *item_function, *number_function, *binary_function;
    if (!PyArg_ParseTuple(args, "OOO", &item_function, &number_function, &binary_function))
        return NULL;
    Py_XSETREF(py_item, Py_NewRef(item_function));
    Py_XSETREF(py_number, Py_NewRef(number_function));
    Py_XSETREF(py_binary, Py_NewRef(binary_function));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"item", item, METH_O, "An item (attribute name -> typed value) as a plain JSON object."},
    {"setup", setup, METH_VARARGS, "setup(item, number, binary): the Python walk's functions."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_compiled_walk", NULL, -1, methods};

PyMODINIT_FUNC PyInit__compiled_walk(void) { return PyModule_Create(&module); }
