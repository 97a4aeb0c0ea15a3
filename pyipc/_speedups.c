/* pyipc._speedups: optional C helpers for pyipc's hot paths.
 *
 * pyipc works without this module: every function here has a pure-Python
 * fallback (see pyipc/framing.py), and pyproject.toml builds it as an
 * optional extension, so a machine without a C compiler installs pyipc all
 * the same. It exists because CPython 3.11's bytes.count(b"\n") tests one byte
 * at a time with a branch per match: on 10,000,000 short lines it took about
 * a third of fifo-send's CPU (measured: 55 ms for 79 MB), where this loop,
 * which the compiler vectorizes, takes about 5 ms.
 *
 * spawn() is pyipc/spawn.py's fork + exec with vfork(2), as CPython's
 * _posixsubprocess does: the child borrows the parent's memory until it execs,
 * where a fork copies the page tables and then takes a copy-on-write fault for
 * every page Python touches on either side (measured: about 2 ms of CPU of a
 * trivial pipe-run, a fifth of `python -c pass`). prctl(), signalfd() and tee()
 * are here so that the commands load no ctypes (pyipc/_libc.py).
 */
#define _GNU_SOURCE  /* tee(2) */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

enum { LANES = 32, ROUNDS = 255 };

PyDoc_STRVAR(count_doc,
"count(buffer, byte, start, end) -> int\n\n"
"How many times the byte value occurs in buffer[start:end], as\n"
"buffer.count(bytes([byte]), start, end) would say. Requires\n"
"0 <= start <= end <= len(buffer) and 0 <= byte <= 255.");

static PyObject *
count(PyObject *module, PyObject *args)
{
    Py_buffer view;
    int byte;
    Py_ssize_t start, end, i, found = 0;
    const unsigned char *data;
    unsigned char wanted;

    if (!PyArg_ParseTuple(args, "y*inn:count", &view, &byte, &start, &end))
        return NULL;
    if (byte < 0 || byte > 255) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "count: byte must be in range(256)");
        return NULL;
    }
    if (start < 0 || start > end || end > view.len) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "count: need 0 <= start <= end <= len(buffer)");
        return NULL;
    }
    data = (const unsigned char *)view.buf;
    wanted = (unsigned char)byte;
    i = start;
    /* No branch per byte: comparisons summed into 32 byte-wide lanes, at most
     * 255 rounds before the lanes are added up (so they cannot overflow), a
     * loop that gcc and clang turn into vector compares and subtracts. */
    while (end - i >= LANES * ROUNDS) {
        unsigned char lanes[LANES] = {0};
        int round, lane;
        for (round = 0; round < ROUNDS; round++, i += LANES)
            for (lane = 0; lane < LANES; lane++)
                lanes[lane] += (data[i + lane] == wanted);
        for (lane = 0; lane < LANES; lane++)
            found += lanes[lane];
    }
    for (; i < end; i++)
        found += (data[i] == wanted);
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(found);
}

PyDoc_STRVAR(prctl_doc,
"prctl(option, arg) -> int\n\n"
"prctl(option, arg, 0, 0, 0): 0, or -errno on failure.");

static PyObject *
speedups_prctl(PyObject *module, PyObject *args)
{
    int option;
    unsigned long arg;

    if (!PyArg_ParseTuple(args, "ik:prctl", &option, &arg))
        return NULL;
    if (prctl(option, arg, 0UL, 0UL, 0UL) != 0)
        return PyLong_FromLong(-(long)errno);
    return PyLong_FromLong(0);
}

PyDoc_STRVAR(tee_doc,
"tee(fd_in, fd_out, length, flags) -> int\n\n"
"tee(2): the bytes copied, or -errno on failure.");

static PyObject *
speedups_tee(PyObject *module, PyObject *args)
{
    int fd_in, fd_out;
    Py_ssize_t length, copied;
    unsigned int flags;

    if (!PyArg_ParseTuple(args, "iinI:tee", &fd_in, &fd_out, &length, &flags))
        return NULL;
    if (length < 0) {
        PyErr_SetString(PyExc_ValueError, "tee: length must not be negative");
        return NULL;
    }
    copied = tee(fd_in, fd_out, (size_t)length, flags);
    return PyLong_FromSsize_t(copied < 0 ? -(Py_ssize_t)errno : copied);
}

/* A sigset from a sequence of signal numbers; numbers the C library refuses
 * (glibc's own 32 and 33) are skipped, as signal.pthread_sigmask skips them. */
static int
sigset_from(PyObject *numbers, sigset_t *set)
{
    PyObject *seq = PySequence_Fast(numbers, "a sequence of signal numbers is required");
    Py_ssize_t i, n;

    if (seq == NULL)
        return -1;
    sigemptyset(set);
    n = PySequence_Fast_GET_SIZE(seq);
    for (i = 0; i < n; i++) {
        long signum = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (signum == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (signum < 1 || signum >= NSIG) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "signal number %ld out of range [1; %d]", signum, NSIG - 1);
            return -1;
        }
        sigaddset(set, (int)signum);
    }
    Py_DECREF(seq);
    return 0;
}

PyDoc_STRVAR(signalfd_doc,
"signalfd(signals) -> int\n\n"
"A new non-blocking, close-on-exec signalfd for the signals: the fd, or\n"
"-errno on failure.");

static PyObject *
speedups_signalfd(PyObject *module, PyObject *numbers)
{
    sigset_t set;
    int fd;

    if (sigset_from(numbers, &set) < 0)
        return NULL;
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return PyLong_FromLong(fd < 0 ? -(long)errno : (long)fd);
}

/* A NULL-terminated array of the bytes in a list (which must outlive it);
 * extra slots are left free at the front. */
static char **
byte_strings(PyObject *list, Py_ssize_t extra, Py_ssize_t *count)
{
    Py_ssize_t i, n;
    char **array;

    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "spawn: a list of bytes is required");
        return NULL;
    }
    n = PyList_GET_SIZE(list);
    array = PyMem_Calloc((size_t)(n + extra + 1), sizeof(char *));
    if (array == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(list, i);
        if (!PyBytes_Check(item)) {
            PyMem_Free(array);
            PyErr_SetString(PyExc_TypeError, "spawn: a list of bytes is required");
            return NULL;
        }
        array[extra + i] = PyBytes_AS_STRING(item);
    }
    if (count != NULL)
        *count = n;
    return array;
}

static void
close_fds(int low, int high)  /* low .. high-1, as os.closerange */
{
    int fd;

    if (low >= high)
        return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned int)low, (unsigned int)(high - 1), 0) == 0)
        return;
#endif
    for (fd = low; fd < high; fd++)
        close(fd);
}

static int
try_next(int err)
{
    return err == ENOENT || err == ENOTDIR || err == ESTALE || err == ENODEV || err == ETIMEDOUT;
}

struct child_plan {
    char **argv, **candidates, **sh_argv, **envp;
    Py_ssize_t ncandidates;
    int fds[3];
    int process_group;   /* -1: stay in ours */
    int death_signal;    /* -1: no PR_SET_PDEATHSIG */
    pid_t parent;
    int err_write, maxfd, search_path;
    int has_mask;
    sigset_t mask, old_mask;
};

/* Between vfork and exec: what pyipc/spawn.py's _child does, step for step,
 * with async-signal-safe calls only and no write to the parent's memory but
 * sh_argv[1]. Ends in exec or _exit, never returns. */
static void __attribute__((noreturn))
child_exec(struct child_plan *plan)
{
    int reached = 0, err = EINVAL, i, signum, lifted[3];
    const char *failed = plan->argv[0], *saw_eacces = NULL;
    char head[48], *p;
    struct iovec parts[2];
    struct sigaction action;

    if (plan->death_signal >= 0) {
        if (prctl(PR_SET_PDEATHSIG, (unsigned long)plan->death_signal, 0UL, 0UL, 0UL) != 0)
            goto fail;  /* EINVAL, as _child says */
        if (getppid() != plan->parent)
            _exit(128 + (plan->death_signal ? plan->death_signal : 9));
    }
    if (plan->process_group >= 0 && setpgid(0, plan->process_group) != 0) {
        err = errno;
        goto fail;
    }
    /* Every caught signal back to its default (Python's handlers would run
     * here in the parent's memory); all are blocked until the mask below. */
    for (signum = 1; signum < NSIG; signum++) {
        if (sigaction(signum, NULL, &action) != 0)
            continue;
        if (signum != SIGPIPE && signum != SIGXFSZ && (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN))
            continue;
        memset(&action, 0, sizeof action);
        action.sa_handler = SIG_DFL;
        sigemptyset(&action.sa_mask);
        if (sigaction(signum, &action, NULL) != 0 && (signum == SIGPIPE || signum == SIGXFSZ)) {
            err = errno;
            goto fail;
        }
    }
    for (i = 0; i < 3; i++) {
        lifted[i] = -1;
        if (plan->fds[i] >= 0 && plan->fds[i] != i && (lifted[i] = fcntl(plan->fds[i], F_DUPFD_CLOEXEC, 3)) < 0) {
            err = errno;
            goto fail;
        }
    }
    for (i = 0; i < 3; i++) {
        if (plan->fds[i] < 0)
            continue;
        if (plan->fds[i] == i) {
            int flags = fcntl(i, F_GETFD);
            if (flags < 0 || fcntl(i, F_SETFD, flags & ~FD_CLOEXEC) < 0) {
                err = errno;
                goto fail;
            }
        }
        else if (dup2(lifted[i], i) < 0) {
            err = errno;
            goto fail;
        }
    }
    close_fds(3, plan->err_write);
    close_fds(plan->err_write + 1, plan->maxfd);
    if (sigprocmask(SIG_SETMASK, plan->has_mask ? &plan->mask : &plan->old_mask, NULL) != 0) {
        err = errno;
        goto fail;
    }
    reached = 1;
    for (i = 0; i < plan->ncandidates; i++) {
        const char *path = plan->candidates[i];
        execve(path, plan->argv, plan->envp);
        err = errno;
        if (err == ENOEXEC) {  /* no #! line: run it with sh, as execvp(3) does */
            plan->sh_argv[1] = (char *)path;
            execve("/bin/sh", plan->sh_argv, plan->envp);
            err = errno;
        }
        if (err == EACCES) {
            if (saw_eacces == NULL)
                saw_eacces = path;
            continue;
        }
        if (try_next(err) && plan->search_path)
            continue;
        if (err == 0)
            err = EINVAL;
        failed = path;
        goto fail;
    }
    if (saw_eacces != NULL) {
        err = EACCES;
        failed = saw_eacces;
    }
    else {
        err = ENOENT;
        failed = plan->argv[0];
    }
fail:
    /* "reached:errno:name", as _child writes it */
    p = head + sizeof head;
    *--p = ':';
    i = err;
    do {
        *--p = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    *--p = ':';
    *--p = reached ? '1' : '0';
    parts[0].iov_base = p;
    parts[0].iov_len = (size_t)(head + sizeof head - p);
    parts[1].iov_base = (void *)failed;
    parts[1].iov_len = strlen(failed);
    (void)!writev(plan->err_write, parts, 2);
    _exit(err == ENOENT ? 127 : 126);
}

PyDoc_STRVAR(spawn_doc,
"spawn(argv, candidates, envp, stdin, stdout, stderr, process_group, sigmask,\n"
"      death_signal, parent, err_write, maxfd, search_path) -> pid\n\n"
"vfork, then in the child what pyipc.spawn._child does: PR_SET_PDEATHSIG\n"
"(death_signal >= 0) and the parent check, setpgid (process_group >= 0),\n"
"caught signals and SIGPIPE/SIGXFSZ to their default, stdin/stdout/stderr\n"
"(-1: inherited) onto 0/1/2, every other fd closed but err_write, the\n"
"sigmask (None: the caller's), then execve of each candidate path in turn\n"
"(search_path: go on after ENOENT and the like); a failure is written to\n"
"err_write as b'reached:errno:name'. argv, candidates, envp: lists of bytes.\n"
"Every signal is blocked in the caller from the vfork until the child has\n"
"exec'd or ended.");

static PyObject *
speedups_spawn(PyObject *module, PyObject *args)
{
    PyObject *argv_list, *candidate_list, *env_list, *mask_obj;
    struct child_plan plan;
    Py_ssize_t nargv;
    sigset_t all;
    pid_t pid = -1;
    int saved_errno = 0, parent;

    memset(&plan, 0, sizeof plan);
    if (!PyArg_ParseTuple(args, "O!O!O!iiiiOiiiip:spawn", &PyList_Type, &argv_list, &PyList_Type, &candidate_list,
                          &PyList_Type, &env_list, &plan.fds[0], &plan.fds[1], &plan.fds[2], &plan.process_group,
                          &mask_obj, &plan.death_signal, &parent, &plan.err_write, &plan.maxfd,
                          &plan.search_path))
        return NULL;
    plan.parent = (pid_t)parent;
    if (PyList_GET_SIZE(argv_list) == 0) {
        PyErr_SetString(PyExc_ValueError, "spawn: empty argv");
        return NULL;
    }
    if (mask_obj != Py_None) {
        if (sigset_from(mask_obj, &plan.mask) < 0)
            return NULL;
        plan.has_mask = 1;
    }
    plan.argv = byte_strings(argv_list, 0, &nargv);
    plan.sh_argv = plan.argv ? byte_strings(argv_list, 1, NULL) : NULL;  /* "sh", path, argv[1:] */
    plan.candidates = plan.sh_argv ? byte_strings(candidate_list, 0, &plan.ncandidates) : NULL;
    plan.envp = plan.candidates ? byte_strings(env_list, 0, NULL) : NULL;
    if (plan.envp == NULL)
        goto done;
    plan.sh_argv[0] = "sh";
    plan.sh_argv[1] = NULL;  /* set by the child */
    /* byte_strings(extra=1) put argv[0] at [1]: sh gets argv[1:] from [2] on */

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &plan.old_mask);
    pid = vfork();
    if (pid == 0)
        child_exec(&plan);  /* never returns */
    saved_errno = errno;
    pthread_sigmask(SIG_SETMASK, &plan.old_mask, NULL);
done:
    PyMem_Free(plan.argv);
    PyMem_Free(plan.sh_argv);
    PyMem_Free(plan.candidates);
    PyMem_Free(plan.envp);
    if (plan.envp == NULL)
        return NULL;
    if (pid < 0) {
        errno = saved_errno;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromLong((long)pid);
}

static PyMethodDef speedups_methods[] = {
    {"count", count, METH_VARARGS, count_doc},
    {"prctl", speedups_prctl, METH_VARARGS, prctl_doc},
    {"signalfd", speedups_signalfd, METH_O, signalfd_doc},
    {"tee", speedups_tee, METH_VARARGS, tee_doc},
    {"spawn", speedups_spawn, METH_VARARGS, spawn_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "pyipc._speedups",
    "Optional C helpers for pyipc's hot paths (each has a pure-Python fallback).",
    -1,
    speedups_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&speedups_module);
}
