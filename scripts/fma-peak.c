// The machine's single-precision FMA peak, for judging BLAS figures (AVX2: 8 lanes x 2 flops
// per fused multiply-add, twelve independent chains so latency never limits throughput).
//   cc -O2 scripts/fma-peak.c -lpthread -o /tmp/fma-peak && /tmp/fma-peak
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static void *chains(void *arg) {
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        __asm__ volatile(
            "vfmadd231ps %%ymm14,%%ymm15,%%ymm0\n vfmadd231ps %%ymm14,%%ymm15,%%ymm1\n vfmadd231ps %%ymm14,%%ymm15,%%ymm2\n"
            "vfmadd231ps %%ymm14,%%ymm15,%%ymm3\n vfmadd231ps %%ymm14,%%ymm15,%%ymm4\n vfmadd231ps %%ymm14,%%ymm15,%%ymm5\n"
            "vfmadd231ps %%ymm14,%%ymm15,%%ymm6\n vfmadd231ps %%ymm14,%%ymm15,%%ymm7\n vfmadd231ps %%ymm14,%%ymm15,%%ymm8\n"
            "vfmadd231ps %%ymm14,%%ymm15,%%ymm9\n vfmadd231ps %%ymm14,%%ymm15,%%ymm10\n vfmadd231ps %%ymm14,%%ymm15,%%ymm11\n"
            ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
    }
    return 0;
}

int main(void) {
    long n = 200000000;
    for (int threads = 1; threads <= 2; threads++) {
        pthread_t t[2];
        double start = now();
        for (int i = 0; i < threads; i++) pthread_create(&t[i], 0, chains, &n);
        for (int i = 0; i < threads; i++) pthread_join(t[i], 0);
        printf("FMA peak (AVX2), %d thread(s): %.1f GFLOP/s\n", threads, threads * (double)n * 12 * 8 * 2 / (now() - start) / 1e9);
    }
    return 0;
}
