"""Compiler settings shared by every kernel."""

# Let LLVM reassociate and contract float reductions so that sums over the batch
# vectorize. No 'nnan'/'ninf': non-finite values must stay detectable.
FASTMATH = {"reassoc", "contract", "nsz"}
