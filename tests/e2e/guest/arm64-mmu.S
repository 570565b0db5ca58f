// A bare-metal AArch64 guest for the arm64 configuration suite (run_arm64_bare.py): at EL1
// with the MMU off, it loads MAIR_EL1, TCR_EL1, TTBR0_EL1 and TTBR1_EL1 from the block the
// suite puts at CONFIG (four little-endian doublewords), turns the MMU on and spins. The
// suite's tables map this code's page to itself, so the fetch after SCTLR_EL1.M goes on.
        .equ    CONFIG, 0x40010000
        .text
        .global _start
_start:
        ldr     x0, =CONFIG
        ldr     x1, [x0, #0]
        msr     mair_el1, x1
        ldr     x1, [x0, #8]
        msr     tcr_el1, x1
        ldr     x1, [x0, #16]
        msr     ttbr0_el1, x1
        ldr     x1, [x0, #24]
        msr     ttbr1_el1, x1
        isb
        tlbi    vmalle1
        dsb     sy
        isb
        mrs     x1, sctlr_el1
        orr     x1, x1, #1              // M: the MMU on
        bic     x1, x1, #(1 << 19)      // WXN off: writable pages stay executable as their bits say
        msr     sctlr_el1, x1
        isb
        ldr     x0, =0x5a5a5a5a         // reached: the suite sees it in x0
spin:
        b       spin
        .ltorg
