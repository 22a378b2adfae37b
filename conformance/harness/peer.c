#include "peer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "template.h"

ttrpc_err tc_expand_command(const char *tmpl, const char *sock_path, int fd, char *out,
                            size_t cap, bool *uses_fd)
{
    char address[160];
    char fd_text[16];
    (void)snprintf(address, sizeof address, "unix:%s", sock_path);
    (void)snprintf(fd_text, sizeof fd_text, "%d", fd);
    const tc_template_var vars[] = {{"{address}", address}, {"{fd}", fd_text}};
    unsigned found = 0;
    ttrpc_err rc = tc_template_expand(tmpl, vars, 2, out, cap, &found);
    *uses_fd = (found & 2u) != 0;
    if (rc != TTRPC_OK) {
        return rc;
    }
    return found != 0 ? TTRPC_OK : TTRPC_E_INVAL;
}

ttrpc_err tc_peer_init(tc_peer *p, const char *exec_template, const char *target)
{
    memset(p, 0, sizeof *p);
    p->exec_template = exec_template;
    p->startup_timeout_ms = 15000;
    if (target != NULL) {
        if (strncmp(target, "unix:", 5) != 0 || strlen(target + 5) >= sizeof p->sock_path ||
            target[5] == '\0') {
            return TTRPC_E_INVAL;
        }
        strcpy(p->sock_path, target + 5);
        return TTRPC_OK;
    }
    strcpy(p->dir, "/tmp/ttrpc-conform.XXXXXX");
    if (mkdtemp(p->dir) == NULL) {
        return TTRPC_E_IO;
    }
    (void)snprintf(p->sock_path, sizeof p->sock_path, "%s/s.sock", p->dir);
    return TTRPC_OK;
}

const char *tc_peer_describe(const tc_peer *p)
{
    return p->exec_template != NULL ? p->exec_template : p->sock_path;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void file_path(const tc_peer *p, const char *name, char *out, size_t cap)
{
    (void)snprintf(out, cap, "%s/%s", p->dir, name);
}

static void read_tail(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)cap - 1 ? size - ((long)cap - 1) : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t n = fread(out, 1, cap - 1, f);
            out[n] = '\0';
        }
    }
    fclose(f);
}

static bool stdout_has_ready(const tc_peer *p)
{
    char path[128], text[512];
    file_path(p, "stdout.txt", path, sizeof path);
    read_tail(path, text, sizeof text);
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl == NULL) {
            return false; /* the line is not complete yet */
        }
        *nl = '\0';
        if (strcmp(line, "ready") == 0) {
            return true;
        }
        line = nl + 1;
    }
    return false;
}

static void describe_status(int status, char *out, size_t cap)
{
    if (WIFEXITED(status)) {
        (void)snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        (void)snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
    } else {
        (void)snprintf(out, cap, "ended (status 0x%x)", (unsigned)status);
    }
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    (void)unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Collects the process's end; kills it first when kill_it. */
static void reap(tc_peer *p, bool kill_it)
{
    if (p->pid <= 0) {
        return;
    }
    int status = 0;
    if (kill_it) {
        (void)kill(-p->pid, SIGKILL);
        (void)waitpid(p->pid, &status, 0);
    } else if (waitpid(p->pid, &status, 0) != p->pid) {
        status = 0;
    }
    describe_status(status, p->last_end, sizeof p->last_end);
    char path[128];
    file_path(p, "stderr.txt", path, sizeof path);
    read_tail(path, p->stderr_tail, sizeof p->stderr_tail);
    p->pid = 0;
}

ttrpc_err tc_peer_start(tc_peer *p, char *err, size_t err_cap)
{
    if (p->exec_template == NULL) {
        if (!tc_probe_echo(p->sock_path, 2000)) {
            (void)snprintf(err, err_cap, "no ttrpc server answers an Echo at %s", p->sock_path);
            return TTRPC_E_IO;
        }
        return TTRPC_OK;
    }
    char cmd[4096];
    bool uses_fd = false;
    ttrpc_err rc = tc_expand_command(p->exec_template, p->sock_path, TC_PEER_FD, cmd,
                                     sizeof cmd, &uses_fd);
    if (rc != TTRPC_OK) {
        (void)snprintf(err, err_cap, "--exec: %s",
                       rc == TTRPC_E_INVAL ? "the command needs {address} or {fd}"
                                           : "command too long");
        return TTRPC_E_INVAL;
    }
    int lfd = -1;
    if (uses_fd) {
        lfd = listen_unix(p->sock_path);
        if (lfd < 0) {
            (void)snprintf(err, err_cap, "cannot listen on %s: %s", p->sock_path,
                           strerror(errno));
            return TTRPC_E_IO;
        }
    } else {
        (void)unlink(p->sock_path);
    }
    char out_path[128], err_path[128];
    file_path(p, "stdout.txt", out_path, sizeof out_path);
    file_path(p, "stderr.txt", err_path, sizeof err_path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        (void)snprintf(err, err_cap, "fork: %s", strerror(errno));
        if (lfd >= 0) {
            close(lfd);
        }
        return TTRPC_E_IO;
    }
    if (pid == 0) {
        (void)setpgid(0, 0);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int devnull = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || devnull < 0 || dup2(devnull, 0) < 0 || dup2(o, 1) < 0 ||
            dup2(e, 2) < 0) {
            _exit(127);
        }
        if (lfd >= 0) {
            if (lfd != TC_PEER_FD && dup2(lfd, TC_PEER_FD) < 0) {
                _exit(127);
            }
            (void)fcntl(TC_PEER_FD, F_SETFD, 0);
        }
        signal(SIGPIPE, SIG_DFL);
        /* A simple command replaces the shell, so the status we collect is the peer's own. */
        char line[4200];
        bool simple = strpbrk(cmd, ";&|\n") == NULL;
        (void)snprintf(line, sizeof line, "%s%s", simple ? "exec " : "", cmd);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    (void)setpgid(pid, pid); /* both sides set it: no race with a quick exec */
    if (lfd >= 0) {
        close(lfd);
    }
    p->pid = pid;
    p->starts++;
    for (int waited = 0; waited < p->startup_timeout_ms; waited += 20) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            describe_status(status, p->last_end, sizeof p->last_end);
            read_tail(err_path, p->stderr_tail, sizeof p->stderr_tail);
            p->pid = 0;
            (void)snprintf(err, err_cap, "the peer %s before it was ready; stderr: %.900s",
                           p->last_end, p->stderr_tail);
            return TTRPC_E_IO;
        }
        if (stdout_has_ready(p) && tc_probe_echo(p->sock_path, 2000)) {
            return TTRPC_OK;
        }
        sleep_ms(20);
    }
    reap(p, true);
    (void)snprintf(err, err_cap, "the peer did not print \"ready\" and answer an Echo within %d ms",
                   p->startup_timeout_ms);
    return TTRPC_E_TIMEOUT;
}

tc_fate tc_peer_check(tc_peer *p, int probe_timeout_ms)
{
    if (tc_probe_echo(p->sock_path, probe_timeout_ms)) {
        return TC_FATE_ALIVE;
    }
    if (p->exec_template == NULL) {
        return TC_FATE_GONE;
    }
    /* A crashing process may still be on its way out when the probe fails: give it a
     * moment before calling it hung. */
    tc_fate fate = TC_FATE_HUNG;
    for (int waited = 0; p->pid > 0 && waited < 500; waited += 10) {
        int status = 0;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            describe_status(status, p->last_end, sizeof p->last_end);
            char path[128];
            file_path(p, "stderr.txt", path, sizeof path);
            read_tail(path, p->stderr_tail, sizeof p->stderr_tail);
            (void)kill(-p->pid, SIGKILL); /* leftovers of its process group */
            p->pid = 0;
            fate = TC_FATE_DIED;
            break;
        }
        sleep_ms(10);
    }
    if (fate == TC_FATE_HUNG) {
        reap(p, true);
    }
    char err[1024];
    if (tc_peer_start(p, err, sizeof err) != TTRPC_OK) {
        fprintf(stderr, "ttrpc-conform: cannot restart the peer: %s\n", err);
    }
    return fate;
}

void tc_peer_stop(tc_peer *p)
{
    if (p->pid > 0) {
        (void)kill(-p->pid, SIGTERM);
        int status = 0;
        for (int waited = 0; waited < 2000; waited += 20) {
            if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
                (void)kill(-p->pid, SIGKILL);
                describe_status(status, p->last_end, sizeof p->last_end);
                p->pid = 0;
                break;
            }
            sleep_ms(20);
        }
        if (p->pid > 0) {
            reap(p, true);
        }
    }
    if (p->dir[0] != '\0') {
        char path[128];
        const char *names[] = {"s.sock", "stdout.txt", "stderr.txt"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            file_path(p, names[i], path, sizeof path);
            (void)unlink(path);
        }
        (void)rmdir(p->dir);
    }
}
