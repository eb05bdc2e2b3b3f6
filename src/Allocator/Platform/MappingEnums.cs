using Allocator.Platform;

namespace Allocator.Mapping;

/// <summary>
/// Access allowed to the pages of a <see cref="MemoryMapping"/> (the kernel's PROT_* bits; the values are
/// the same, so a cast is the whole translation). Combine with <c>|</c>.
/// </summary>
[Flags]
public enum MappingProtection
{
    /// <summary>No access: any touch faults (PROT_NONE). Useful for guard pages and reservations.</summary>
    None = Libc.PROT_NONE,

    /// <summary>The pages can be read (PROT_READ).</summary>
    Read = Libc.PROT_READ,

    /// <summary>The pages can be written (PROT_WRITE).</summary>
    Write = Libc.PROT_WRITE,

    /// <summary>The pages can be executed (PROT_EXEC).</summary>
    Execute = Libc.PROT_EXEC,

    /// <summary>Read and write, the usual protection for data.</summary>
    ReadWrite = Read | Write,
}

/// <summary>Hints for <see cref="MemoryMapping.Advise(MappingAdvice)"/> (the kernel's MADV_* values).</summary>
public enum MappingAdvice
{
    /// <summary>No special treatment (MADV_NORMAL).</summary>
    Normal,

    /// <summary>Pages will be touched in random order: read ahead less (MADV_RANDOM).</summary>
    Random,

    /// <summary>Pages will be touched in order: read ahead more, drop behind (MADV_SEQUENTIAL).</summary>
    Sequential,

    /// <summary>Pages will be needed soon: start reading them in (MADV_WILLNEED).</summary>
    WillNeed,

    /// <summary>
    /// Pages are not needed: drop them now (MADV_DONTNEED). Private anonymous pages read as zero afterwards;
    /// shared and file pages are read again from their backing store.
    /// </summary>
    DontNeed,

    /// <summary>
    /// Pages may be freed lazily when memory is short (MADV_FREE). Private anonymous mappings only; their
    /// content is undefined until written again. Anything else fails with EINVAL (an <see cref="ArgumentException"/>).
    /// </summary>
    Free,

    /// <summary>Back the range with transparent huge pages where possible (MADV_HUGEPAGE).</summary>
    HugePage,

    /// <summary>Never back the range with transparent huge pages (MADV_NOHUGEPAGE).</summary>
    NoHugePage,
}

/// <summary>How <see cref="MemoryMapping.Flush(FlushMode)"/> writes dirty pages back (msync's MS_SYNC or MS_ASYNC).</summary>
public enum FlushMode
{
    /// <summary>Write back and wait until the data is on the file (MS_SYNC).</summary>
    Synchronous,

    /// <summary>Schedule the write-back and return at once (MS_ASYNC).</summary>
    Asynchronous,
}

/// <summary>The four kinds of mapping: backing store (anonymous or file) times visibility (private or shared).</summary>
public enum MappingKind
{
    /// <summary>Zero-filled memory seen by this process only (MAP_PRIVATE | MAP_ANONYMOUS).</summary>
    AnonymousPrivate,

    /// <summary>Zero-filled memory shared by every view of it (MAP_SHARED | MAP_ANONYMOUS).</summary>
    AnonymousShared,

    /// <summary>A file's pages, copy-on-write: writes stay in this mapping and never reach the file (MAP_PRIVATE).</summary>
    FilePrivate,

    /// <summary>A file's pages, shared: writes are seen by every mapping of the file and reach the file (MAP_SHARED).</summary>
    FileShared,
}

/// <summary>Converts the public enums to the kernel's values, rejecting values that no member names.</summary>
internal static class MappingFlags
{
    private const MappingProtection AllProtection = MappingProtection.Read | MappingProtection.Write | MappingProtection.Execute;

    /// <summary>The PROT_* bits for <paramref name="protection"/>; <see cref="ArgumentException"/> for unknown bits.</summary>
    public static int ToProt(MappingProtection protection)
    {
        if ((protection & ~AllProtection) != 0)
        {
            throw new ArgumentException(
                $"Impossible protection 0x{(int)protection:x}: only None, Read, Write and Execute can be combined.",
                nameof(protection));
        }

        return (int)protection;
    }

    /// <summary>The MADV_* value for <paramref name="advice"/>; <see cref="ArgumentException"/> for an unknown value.</summary>
    public static int ToMadvise(MappingAdvice advice) => advice switch
    {
        MappingAdvice.Normal => Libc.MADV_NORMAL,
        MappingAdvice.Random => Libc.MADV_RANDOM,
        MappingAdvice.Sequential => Libc.MADV_SEQUENTIAL,
        MappingAdvice.WillNeed => Libc.MADV_WILLNEED,
        MappingAdvice.DontNeed => Libc.MADV_DONTNEED,
        MappingAdvice.Free => Libc.MADV_FREE,
        MappingAdvice.HugePage => Libc.MADV_HUGEPAGE,
        MappingAdvice.NoHugePage => Libc.MADV_NOHUGEPAGE,
        _ => throw new ArgumentException($"Unknown advice {(int)advice}.", nameof(advice)),
    };

    /// <summary>The MS_* value for <paramref name="mode"/>; <see cref="ArgumentException"/> for an unknown value.</summary>
    public static int ToMsync(FlushMode mode) => mode switch
    {
        FlushMode.Synchronous => Libc.MS_SYNC,
        FlushMode.Asynchronous => Libc.MS_ASYNC,
        _ => throw new ArgumentException($"Unknown flush mode {(int)mode}.", nameof(mode)),
    };
}
