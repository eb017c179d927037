// The machine's single-precision FMA peak, for judging BLAS and convolution figures: twelve
// independent chains of fused multiply-adds so latency never limits throughput, with 8 lanes
// (AVX2) and, where the CPU has AVX-512, 16 lanes (Zen 4 splits these in two halves, so its
// figure matches AVX2's; Intel's server cores with two 512-bit units double it).
//   cc -O2 scripts/fma-peak.c -lpthread -o /tmp/fma-peak && /tmp/fma-peak
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

#define CHAINS(reg, a, b) \
    "vfmadd231ps %%" a ",%%" b ",%%" reg "0\n vfmadd231ps %%" a ",%%" b ",%%" reg "1\n" \
    "vfmadd231ps %%" a ",%%" b ",%%" reg "2\n vfmadd231ps %%" a ",%%" b ",%%" reg "3\n" \
    "vfmadd231ps %%" a ",%%" b ",%%" reg "4\n vfmadd231ps %%" a ",%%" b ",%%" reg "5\n" \
    "vfmadd231ps %%" a ",%%" b ",%%" reg "6\n vfmadd231ps %%" a ",%%" b ",%%" reg "7\n" \
    "vfmadd231ps %%" a ",%%" b ",%%" reg "8\n vfmadd231ps %%" a ",%%" b ",%%" reg "9\n" \
    "vfmadd231ps %%" a ",%%" b ",%%" reg "10\n vfmadd231ps %%" a ",%%" b ",%%" reg "11\n"

static void *avx2(void *arg) {
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        __asm__ volatile(CHAINS("ymm", "ymm14", "ymm15")
                         ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
    return 0;
}

__attribute__((target("avx512f"))) static void *avx512(void *arg) {
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        __asm__ volatile(CHAINS("zmm", "zmm14", "zmm15")
                         ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
    return 0;
}

static void measure(const char *name, void *(*chains)(void *), int lanes, long n) {
    for (int threads = 1; threads <= 2; threads++) {
        pthread_t t[2];
        double start = now();
        for (int i = 0; i < threads; i++) pthread_create(&t[i], 0, chains, &n);
        for (int i = 0; i < threads; i++) pthread_join(t[i], 0);
        printf("FMA peak (%s), %d thread(s): %.1f GFLOP/s\n", name, threads,
               threads * (double)n * 12 * lanes * 2 / (now() - start) / 1e9);
    }
}

int main(void) {
    measure("AVX2", avx2, 8, 200000000);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) measure("AVX-512", avx512, 16, 100000000);
    return 0;
}
