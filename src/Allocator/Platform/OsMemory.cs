using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Allocator.Platform;

/// <summary>
/// The allocator's view of the OS: reserve (map) private anonymous memory, possibly aligned, purge it,
/// release it, grow it with mremap, and label it. All addresses and sizes are multiples of
/// <see cref="PageSize"/>. Failures return null (the allocator turns that into
/// <see cref="OutOfMemoryException"/> after restoring its own invariants).
/// </summary>
/// <remarks>
/// A test seam, <see cref="FailNextMaps"/>, makes the next N maps fail as if the kernel had said ENOMEM,
/// so that tests can prove the allocator stays consistent when the OS runs out of memory.
/// </remarks>
internal static unsafe class OsMemory
{
    /// <summary>The OS page size in bytes (4096 on x86-64 Linux).</summary>
    public static readonly nuint PageSize = (nuint)Math.Max(4096L, Libc.sysconf(Libc._SC_PAGESIZE));

    /// <summary>When positive, each map call decrements it and fails with ENOMEM. Test seam only.</summary>
    internal static int FailNextMaps;

    /// <summary>The errno of the last failed call made through this class on this thread.</summary>
    [ThreadStatic] internal static int t_lastErrno;

    /// <summary>Maps <paramref name="size"/> bytes of private anonymous read-write memory anywhere; null on failure.</summary>
    public static void* Map(nuint size)
    {
        if (FailNextMaps > 0 && Interlocked.Decrement(ref FailNextMaps) >= 0)
        {
            t_lastErrno = Libc.ENOMEM;
            return null;
        }

        return MapUnchecked(size);
    }

    /// <summary>As <see cref="Map"/>, but never subject to the failure-injection seam (for start-up metadata).</summary>
    public static void* MapUnchecked(nuint size)
    {
        void* p = Libc.mmap(null, size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        if (p == Libc.MapFailed)
        {
            t_lastErrno = Marshal.GetLastPInvokeError();
            return null;
        }

        return p;
    }

    /// <summary>
    /// Maps <paramref name="size"/> bytes aligned to <paramref name="alignment"/> (a power of two, a multiple
    /// of the page size). Over-maps by the alignment and trims both ends; null on failure.
    /// </summary>
    public static void* MapAligned(nuint size, nuint alignment)
    {
        if (alignment <= PageSize)
        {
            return Map(size);
        }

        // First try: ask for exactly size and hope the kernel hands back an aligned address.
        void* p = Map(size);
        if (p == null)
        {
            return null;
        }

        if (((nuint)p & (alignment - 1)) == 0)
        {
            return p;
        }

        Unmap(p, size);
        nuint total = size + alignment;
        if (total < size)
        {
            t_lastErrno = Libc.ENOMEM;
            return null;
        }

        byte* raw = (byte*)Map(total);
        if (raw == null)
        {
            return null;
        }

        byte* aligned = (byte*)(((nuint)raw + alignment - 1) & ~(alignment - 1));
        nuint head = (nuint)(aligned - raw);
        nuint tail = total - head - size;
        if (head != 0)
        {
            Libc.munmap(raw, head);
        }

        if (tail != 0)
        {
            Libc.munmap(aligned + size, tail);
        }

        return aligned;
    }

    /// <summary>Unmaps a range; returns false (and sets <see cref="t_lastErrno"/>) on failure.</summary>
    public static bool Unmap(void* p, nuint size)
    {
        if (Libc.munmap(p, size) != 0)
        {
            t_lastErrno = Marshal.GetLastPInvokeError();
            return false;
        }

        return true;
    }

    /// <summary>
    /// Gives the physical pages of a range back to the OS (MADV_DONTNEED): the range stays mapped and
    /// reads as zero afterwards.
    /// </summary>
    public static bool Purge(void* p, nuint size)
    {
        if (Libc.madvise(p, size, Libc.MADV_DONTNEED) != 0)
        {
            t_lastErrno = Marshal.GetLastPInvokeError();
            return false;
        }

        return true;
    }

    /// <summary>Size of a transparent huge page on x86-64 and most arm64 kernels.</summary>
    public const nuint HugePageSize = 2 * 1024 * 1024;

    /// <summary>
    /// Asks for transparent huge pages (MADV_HUGEPAGE) on the whole 2 MiB-aligned windows inside a range; false
    /// when the range holds none or the kernel refuses (no THP support). Advice only: nothing changes on failure.
    /// </summary>
    public static bool AdviseHugePages(void* p, nuint size)
    {
        nuint start = ((nuint)p + HugePageSize - 1) & ~(HugePageSize - 1);
        nuint end = ((nuint)p + size) & ~(HugePageSize - 1);
        if (end <= start)
        {
            return false;
        }

        if (Libc.madvise((void*)start, end - start, Libc.MADV_HUGEPAGE) != 0)
        {
            t_lastErrno = Marshal.GetLastPInvokeError();
            return false;
        }

        return true;
    }

    /// <summary>
    /// Resizes a mapping with mremap, moving it if needed; null on failure (the old mapping is then intact).
    /// </summary>
    public static void* Remap(void* p, nuint oldSize, nuint newSize)
    {
        if (FailNextMaps > 0 && Interlocked.Decrement(ref FailNextMaps) >= 0)
        {
            t_lastErrno = Libc.ENOMEM;
            return null;
        }

        void* q = Libc.mremap(p, oldSize, newSize, Libc.MREMAP_MAYMOVE);
        if (q == Libc.MapFailed)
        {
            t_lastErrno = Marshal.GetLastPInvokeError();
            return null;
        }

        return q;
    }

    /// <summary>
    /// Labels an anonymous range so that /proc/self/maps shows <c>[anon:NAME]</c>. Returns false where the
    /// kernel refuses (older than 5.17 or built without CONFIG_ANON_VMA_NAME); the label is cosmetic.
    /// </summary>
    public static bool Name(void* p, nuint size, string name)
    {
        // The kernel copies the name during the call; it must be NUL-terminated and at most 80 bytes.
        int max = Encoding.UTF8.GetMaxByteCount(name.Length) + 1;
        Span<byte> buffer = max <= 256 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(name, buffer);
        buffer[n] = 0;
        fixed (byte* text = buffer)
        {
            return NameRaw(p, size, text);
        }
    }

    /// <summary>As <see cref="Name(void*, nuint, string)"/>, with a NUL-terminated UTF-8 name already in memory.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool NameRaw(void* p, nuint size, byte* nulTerminatedName)
    {
        if (Libc.prctl(Libc.PR_SET_VMA, Libc.PR_SET_VMA_ANON_NAME, (nuint)p, size, (nuint)nulTerminatedName) != 0)
        {
            t_lastErrno = Marshal.GetLastPInvokeError();
            return false;
        }

        return true;
    }
}
