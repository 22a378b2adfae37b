/* ttrpc-bench: the benchmark driver's measuring half. Each command prints one JSON object per
 * line; bench/run-bench.py starts the servers, pins CPUs and builds the report. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "load.h"
#include "request.h"
#include "ttrpc/frame.h"

#define PROG "ttrpc-bench"

static void usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  " PROG " load --connect unix:PATH [--raw] --size N [--conns C] [--threads T]\n"
            "             [--seconds S] [--warmup S]\n"
            "  " PROG " codec [--seconds S] [--chunk N]\n"
            "  " PROG " sizes\n"
            "\n"
            "load   closed loop: C connections, one Echo/Echo call in flight on each, payload\n"
            "       Bytes{value} of N bytes (N = max: the largest that fits a frame). --raw\n"
            "       sends the same byte count unframed to bench/raw-echo instead. T threads\n"
            "       (default: min(C, CPUs)) multiplex the connections with epoll. Prints\n"
            "       calls/s, latency quantiles in microseconds and the generator's CPU time.\n"
            "codec  frame decoder throughput (feed in --chunk bytes, default 65536) against\n"
            "       memcpy of the same chunks, frames of 64 B to 4 MiB; and memcpy bandwidth.\n"
            "sizes  the payload sizes of the benchmark matrix, the largest included.\n");
}

static int parse_size(const char *s, size_t *out)
{
    if (strcmp(s, "max") == 0) {
        *out = bench_request_max_value();
        return 0;
    }
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s) {
        return -1;
    }
    if (*end == 'K' || *end == 'k') {
        v *= 1024u;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1024u * 1024u;
        end++;
    }
    if (*end != '\0') {
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* Error texts can carry a server's status message: escape what JSON does not allow raw. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            printf("\\%c", ch);
        } else if (ch < 0x20) {
            printf("\\u%04x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('"');
}

static int cmd_load(int argc, char **argv)
{
    bench_load_config cfg = {.conns = 1, .warmup_s = 0.2, .seconds = 1.0};
    bool have_size = false;
    static const struct option opts[] = {
        {"connect", required_argument, NULL, 'c'}, {"raw", no_argument, NULL, 'r'},
        {"size", required_argument, NULL, 's'},    {"conns", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 't'}, {"seconds", required_argument, NULL, 'S'},
        {"warmup", required_argument, NULL, 'w'},  {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            if (strncmp(optarg, "unix:", 5) != 0) {
                fprintf(stderr, PROG ": --connect wants unix:PATH\n");
                return 2;
            }
            cfg.path = optarg + 5;
            break;
        case 'r':
            cfg.raw = true;
            break;
        case 's':
            if (parse_size(optarg, &cfg.value_len) != 0) {
                fprintf(stderr, PROG ": bad --size %s\n", optarg);
                return 2;
            }
            have_size = true;
            break;
        case 'n':
            cfg.conns = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            cfg.threads = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'S':
            cfg.seconds = strtod(optarg, NULL);
            break;
        case 'w':
            cfg.warmup_s = strtod(optarg, NULL);
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (cfg.path == NULL || !have_size || cfg.conns == 0 || cfg.seconds <= 0 ||
        cfg.warmup_s < 0) {
        usage(stderr);
        return 2;
    }
    bench_load_result *r = malloc(sizeof *r);
    if (r == NULL) {
        return 1;
    }
    int rc = bench_load_run(&cfg, r);
    double cpu = r->cpu_user_s + r->cpu_sys_s;
    printf("{\"mode\":\"%s\",\"size\":%zu,\"conns\":%u,\"ok\":%s,\"error\":",
           cfg.raw ? "raw" : "ttrpc", cfg.value_len, cfg.conns, rc == 0 ? "true" : "false");
    print_json_string(r->error);
    printf(",\"calls\":%" PRIu64 ",\"seconds\":%.3f,\"calls_per_s\":%.1f,"
           "\"request_bytes\":%zu,\"response_bytes\":%zu,"
           "\"p50_us\":%.2f,\"p99_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f,"
           "\"gen_cpu_s\":%.3f,\"gen_cpu_us_per_call\":%.3f}\n",
           r->calls, r->seconds, r->seconds > 0 ? (double)r->calls / r->seconds : 0.0,
           r->request_bytes, r->response_bytes,
           (double)bench_hist_quantile(&r->latency_ns, 0.50) / 1e3,
           (double)bench_hist_quantile(&r->latency_ns, 0.99) / 1e3,
           r->latency_ns.count ? (double)r->latency_ns.sum / (double)r->latency_ns.count / 1e3
                               : 0.0,
           (double)r->latency_ns.max / 1e3, cpu, r->calls ? cpu * 1e6 / (double)r->calls : 0.0);
    free(r);
    return rc == 0 ? 0 : 1;
}

static int cmd_codec(int argc, char **argv)
{
    double seconds = 0.3;
    size_t chunk = 65536;
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, 'S'},
        {"chunk", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        bool ok = false;
        if (o == 'S') {
            seconds = strtod(optarg, NULL);
            ok = seconds > 0;
        } else if (o == 'c') {
            ok = parse_size(optarg, &chunk) == 0 && chunk > 0;
        }
        if (!ok) {
            usage(stderr);
            return 2;
        }
    }
    static const size_t sizes[] = {64, 1024, 16384, 65536, 262144, 1048576, TTRPC_FRAME_MAX_DATA};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        bench_codec_result r;
        if (bench_codec_run(sizes[i], chunk, seconds, &r) != 0) {
            return 1;
        }
        printf("{\"kind\":\"decoder\",\"frame_data\":%zu,\"chunk\":%zu,"
               "\"decode_bytes_s\":%.0f,\"decode_frames_s\":%.0f,\"memcpy_bytes_s\":%.0f,"
               "\"ratio_to_memcpy\":%.3f}\n",
               r.frame_data, r.chunk, r.decode_bytes_s, r.decode_frames_s, r.memcpy_bytes_s,
               r.decode_bytes_s / r.memcpy_bytes_s);
    }
    static const size_t blocks[] = {65536, 1048576, TTRPC_FRAME_MAX_DATA};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        printf("{\"kind\":\"memcpy\",\"block\":%zu,\"bytes_s\":%.0f}\n", blocks[i],
               bench_memcpy_bandwidth(blocks[i], seconds));
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "load") == 0) {
        return cmd_load(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "codec") == 0) {
        return cmd_codec(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "sizes") == 0) {
        printf("0 64 1024 16384 262144 1048576 %zu\n", bench_request_max_value());
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
