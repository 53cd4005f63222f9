#!/bin/sh
# Usage: no_cublas_at_start.sh MHUB HAVE_CUDA
# Fails when MHUB lists libcublas / libcublasLt among its DT_NEEDED libraries or loads them while
# it starts (`mhub --version`): engine/cuda/cublas_loader dlopen()s cuBLAS on first use instead.
# Exits 77 (skipped) when the build has no CUDA (HAVE_CUDA not ON) or readelf is missing.
mhub=$1
case "$2" in
  ON | on | TRUE | true | 1) ;;
  *) echo "skipped: this build has no CUDA backend"; exit 77 ;;
esac
command -v readelf >/dev/null || { echo "skipped: no readelf on this machine"; exit 77; }
dynamic=$(readelf -d "$mhub") || { echo "readelf -d $mhub failed"; exit 1; }
# The CUDA runtime must be there: otherwise this is not the CUDA build and the check proves nothing.
printf '%s\n' "$dynamic" | grep -q 'NEEDED.*libcudart' || { echo "$mhub does not need libcudart: not a CUDA build?"; exit 1; }
if printf '%s\n' "$dynamic" | grep -i 'NEEDED.*libcublas'; then
  echo "$mhub links cuBLAS: call it through cublas() (engine/cuda/cublas_loader.h) instead"
  exit 1
fi
# Nothing else may pull it in at start either (glibc's loader lists each file it opens).
loaded=$(LD_DEBUG=files "$mhub" --version 2>&1) || { printf '%s\n' "$loaded" | tail -5; echo "$mhub --version failed"; exit 1; }
printf '%s\n' "$loaded" | grep -q 'file=libcudart' || { echo "LD_DEBUG=files shows no libcudart: cannot see what loads"; exit 1; }
if printf '%s\n' "$loaded" | grep 'file=libcublas'; then
  echo "$mhub --version loads cuBLAS at start"
  exit 1
fi
echo "$mhub neither needs nor loads cuBLAS at start"
