/* A single-phase-init extension module (PEP 3121 style: PyModule_Create,
 * no Py_mod_multiple_interpreters slot) for the extension-lane tests.
 * Isolated interpreters refuse to import it; the compat lane imports it.
 * Its counter is process-global C state, the kind of state that makes such
 * modules unsafe under a per-interpreter GIL. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static long counter = 0;

static PyObject* bump(PyObject* self, PyObject* unused) {
  (void)self;
  (void)unused;
  return PyLong_FromLong(++counter);
}

static PyMethodDef methods[] = {
    {"bump", bump, METH_NOARGS, "bump() -> int: add one to a process-global counter and return it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_interpd_singlephase", "A single-phase-init module for interpd's tests.", -1, methods,
};

PyMODINIT_FUNC PyInit__interpd_singlephase(void) { return PyModule_Create(&module_def); }
