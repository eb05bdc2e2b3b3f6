using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Allocator.Platform;
using Microsoft.Win32.SafeHandles;

namespace Allocator.Mapping;

/// <summary>
/// One region mapped with <c>mmap</c>: anonymous or file-backed, private or shared. Disposing it unmaps it.
/// </summary>
/// <remarks>
/// <para>
/// The four kinds (backing store times visibility) each have a factory: <see cref="CreateAnonymousPrivate"/>,
/// <see cref="CreateAnonymousShared"/>, <see cref="CreateFilePrivate(string, long, long?, MappingProtection)"/>
/// (copy-on-write) and <see cref="CreateFileShared(string, long, long?, MappingProtection)"/>, the file ones
/// from a path or an open <see cref="SafeFileHandle"/>.
/// </para>
/// <para>
/// Rules, stated once: file offsets and the offsets of the range overloads (<see cref="Protect(nuint, nuint, MappingProtection)"/>,
/// <see cref="Advise(nuint, nuint, MappingAdvice)"/>, <see cref="Flush(nuint, nuint, FlushMode)"/>) are multiples of
/// <see cref="PageSize"/>; lengths are positive and need not be (the kernel rounds up to whole pages, and
/// <see cref="Length"/> stays the length asked for). A file range must lie inside the file, because touching a
/// page past the end of a file raises SIGBUS, which .NET cannot turn into an exception.
/// </para>
/// <para>
/// Failures throw what the errno means, with a message naming the call and the errno:
/// ENOMEM → <see cref="OutOfMemoryException"/>, EACCES/EPERM → <see cref="UnauthorizedAccessException"/>,
/// EINVAL and bad arguments → <see cref="ArgumentException"/>, a missing file → <see cref="FileNotFoundException"/>,
/// use after <see cref="Dispose"/> → <see cref="ObjectDisposedException"/>.
/// </para>
/// <para>
/// <see cref="Dispose"/> is idempotent and thread-safe: the address is swapped out with <see cref="Interlocked"/>,
/// so exactly one caller unmaps. A mapping that is never disposed is unmapped by its finalizer. Spans and
/// pointers taken from a mapping must not be used after it is disposed; that is the caller's contract.
/// </para>
/// </remarks>
public sealed unsafe class MemoryMapping : IDisposable
{
    /// <summary>The mapped address, or 0 once unmapped. Only <see cref="Unmap"/> clears it.</summary>
    private nint _address;

    private readonly nuint _length;

    private MemoryMapping(void* address, nuint length, MappingKind kind)
    {
        _address = (nint)address;
        _length = length;
        Kind = kind;
    }

    /// <summary>Unmaps a mapping that was never disposed.</summary>
    ~MemoryMapping() => Unmap();

    /// <summary>The OS page size in bytes (4096 on x86-64 Linux): the unit of offsets and of the kernel's work.</summary>
    public static nuint PageSize => OsMemory.PageSize;

    /// <summary>Which of the four kinds of mapping this is.</summary>
    public MappingKind Kind { get; }

    /// <summary>The start of the mapping, always a multiple of <see cref="PageSize"/>.</summary>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public nint Pointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            nint address = _address;
            if (address == 0)
            {
                ThrowDisposed();
            }

            return address;
        }
    }

    /// <summary>The length in bytes that was asked for (the kernel maps whole pages behind it).</summary>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public nuint Length
    {
        get
        {
            _ = Pointer;
            return _length;
        }
    }

    /// <summary>The whole mapping as a span. Touching pages whose protection forbids it crashes the process.</summary>
    /// <exception cref="InvalidOperationException">The mapping is longer than <see cref="int.MaxValue"/> bytes; use <see cref="GetSpan"/>.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public Span<byte> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            nint address = Pointer;
            if (_length > int.MaxValue)
            {
                ThrowTooLongForSpan();
            }

            return new Span<byte>((void*)address, (int)_length);
        }
    }

    /// <summary>A span over <paramref name="length"/> bytes starting <paramref name="offset"/> bytes into the mapping.</summary>
    /// <param name="offset">Byte offset from <see cref="Pointer"/>; any value.</param>
    /// <param name="length">Number of bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the mapping.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public Span<byte> GetSpan(nuint offset, int length)
    {
        nint address = Pointer;
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > _length || (nuint)length > _length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"The range [{offset}, {offset}+{length}) is not inside the mapping of {_length} bytes.");
        }

        return new Span<byte>((byte*)address + offset, length);
    }

    /// <summary>Maps <paramref name="length"/> bytes of zero-filled memory that only this process sees.</summary>
    /// <param name="length">Bytes to map; positive.</param>
    /// <param name="protection">Access to the pages.</param>
    /// <exception cref="ArgumentException">Zero length or an impossible protection.</exception>
    /// <exception cref="OutOfMemoryException">The kernel has no memory or address space for it (ENOMEM).</exception>
    public static MemoryMapping CreateAnonymousPrivate(nuint length, MappingProtection protection = MappingProtection.ReadWrite) =>
        MapAnonymous(length, protection, Libc.MAP_PRIVATE, MappingKind.AnonymousPrivate);

    /// <summary>
    /// Maps <paramref name="length"/> bytes of zero-filled memory shared by every view of it (a second view
    /// made with <c>mremap(old, 0, len, MREMAP_MAYMOVE)</c>, or a child after <c>fork</c>).
    /// </summary>
    /// <param name="length">Bytes to map; positive.</param>
    /// <param name="protection">Access to the pages.</param>
    /// <exception cref="ArgumentException">Zero length or an impossible protection.</exception>
    /// <exception cref="OutOfMemoryException">The kernel has no memory or address space for it (ENOMEM).</exception>
    public static MemoryMapping CreateAnonymousShared(nuint length, MappingProtection protection = MappingProtection.ReadWrite) =>
        MapAnonymous(length, protection, Libc.MAP_SHARED, MappingKind.AnonymousShared);

    /// <summary>
    /// Maps part of a file copy-on-write: writes are seen through this mapping only and never reach the file.
    /// The file is opened for reading and closed again; the mapping keeps its own reference.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="offset">Where the mapping starts in the file; a multiple of <see cref="PageSize"/>.</param>
    /// <param name="length">Bytes to map; null maps to the end of the file.</param>
    /// <param name="protection">Access to the pages; <see cref="MappingProtection.Write"/> is allowed (the copies are private).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">Unaligned offset, zero length, a range past the end of the file, or an impossible protection.</exception>
    public static MemoryMapping CreateFilePrivate(string path, long offset = 0, long? length = null, MappingProtection protection = MappingProtection.Read) =>
        MapPath(path, FileAccess.Read, offset, length, protection, Libc.MAP_PRIVATE, MappingKind.FilePrivate);

    /// <summary>Maps part of an open file copy-on-write: writes are seen through this mapping only and never reach the file.</summary>
    /// <param name="file">A handle opened for reading; it may be closed once this returns.</param>
    /// <param name="offset">Where the mapping starts in the file; a multiple of <see cref="PageSize"/>.</param>
    /// <param name="length">Bytes to map; null maps to the end of the file.</param>
    /// <param name="protection">Access to the pages; <see cref="MappingProtection.Write"/> is allowed (the copies are private).</param>
    /// <exception cref="ArgumentException">Unaligned offset, zero length, a range past the end of the file, or an impossible protection.</exception>
    /// <exception cref="UnauthorizedAccessException">The handle is not open for reading (EACCES).</exception>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    public static MemoryMapping CreateFilePrivate(SafeFileHandle file, long offset = 0, long? length = null, MappingProtection protection = MappingProtection.Read) =>
        MapHandle(file, offset, length, protection, Libc.MAP_PRIVATE, MappingKind.FilePrivate);

    /// <summary>
    /// Maps part of a file shared: writes are seen by every mapping of the file, in any process, and reach the file
    /// (at the latest on <see cref="Flush(FlushMode)"/>). The file is opened for reading, and for writing too when
    /// <paramref name="protection"/> has <see cref="MappingProtection.Write"/>, then closed again.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="offset">Where the mapping starts in the file; a multiple of <see cref="PageSize"/>.</param>
    /// <param name="length">Bytes to map; null maps to the end of the file.</param>
    /// <param name="protection">Access to the pages.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be opened with the access the protection needs.</exception>
    /// <exception cref="ArgumentException">Unaligned offset, zero length, a range past the end of the file, or an impossible protection.</exception>
    public static MemoryMapping CreateFileShared(string path, long offset = 0, long? length = null, MappingProtection protection = MappingProtection.ReadWrite) =>
        MapPath(path, (protection & MappingProtection.Write) != 0 ? FileAccess.ReadWrite : FileAccess.Read,
            offset, length, protection, Libc.MAP_SHARED, MappingKind.FileShared);

    /// <summary>Maps part of an open file shared: writes are seen by every mapping of the file and reach the file.</summary>
    /// <param name="file">A handle opened for reading, and for writing too if <paramref name="protection"/> has <see cref="MappingProtection.Write"/>; it may be closed once this returns.</param>
    /// <param name="offset">Where the mapping starts in the file; a multiple of <see cref="PageSize"/>.</param>
    /// <param name="length">Bytes to map; null maps to the end of the file.</param>
    /// <param name="protection">Access to the pages.</param>
    /// <exception cref="UnauthorizedAccessException">A writable mapping of a handle opened read-only (checked before mmap, reported as EACCES), or a handle not open for reading.</exception>
    /// <exception cref="ArgumentException">Unaligned offset, zero length, a range past the end of the file, or an impossible protection.</exception>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    public static MemoryMapping CreateFileShared(SafeFileHandle file, long offset = 0, long? length = null, MappingProtection protection = MappingProtection.ReadWrite) =>
        MapHandle(file, offset, length, protection, Libc.MAP_SHARED, MappingKind.FileShared);

    /// <summary>Changes the protection of the whole mapping (mprotect).</summary>
    /// <param name="protection">The new access.</param>
    /// <exception cref="UnauthorizedAccessException">The access is not allowed, e.g. write to a shared mapping of a file opened read-only (EACCES).</exception>
    /// <exception cref="ArgumentException">An impossible protection.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public void Protect(MappingProtection protection) => ProtectCore(Pointer, _length, protection);

    /// <summary>Changes the protection of the pages in a range of the mapping (mprotect).</summary>
    /// <param name="offset">Byte offset into the mapping; a multiple of <see cref="PageSize"/>.</param>
    /// <param name="length">Bytes; positive; the range is widened to whole pages.</param>
    /// <param name="protection">The new access.</param>
    /// <exception cref="ArgumentException">Unaligned offset, zero length or an impossible protection.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the mapping.</exception>
    /// <exception cref="UnauthorizedAccessException">The access is not allowed (EACCES).</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public void Protect(nuint offset, nuint length, MappingProtection protection) => ProtectCore(Range(offset, length), length, protection);

    /// <summary>Gives the kernel a hint about the whole mapping (madvise).</summary>
    /// <param name="advice">The hint.</param>
    /// <exception cref="ArgumentException">An unknown advice, or one the kernel rejects for this kind of mapping (EINVAL), such as <see cref="MappingAdvice.Free"/> on a file.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public void Advise(MappingAdvice advice) => AdviseCore(Pointer, _length, advice);

    /// <summary>Gives the kernel a hint about a range of the mapping (madvise).</summary>
    /// <param name="offset">Byte offset into the mapping; a multiple of <see cref="PageSize"/>.</param>
    /// <param name="length">Bytes; positive; the range is widened to whole pages.</param>
    /// <param name="advice">The hint.</param>
    /// <exception cref="ArgumentException">Unaligned offset, zero length, an unknown advice, or one the kernel rejects (EINVAL).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the mapping.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public void Advise(nuint offset, nuint length, MappingAdvice advice) => AdviseCore(Range(offset, length), length, advice);

    /// <summary>Writes the whole mapping's dirty pages back to its file (msync); a no-op for anonymous memory.</summary>
    /// <param name="mode">Wait for the write-back, or only schedule it.</param>
    /// <exception cref="ArgumentException">An unknown mode.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public void Flush(FlushMode mode = FlushMode.Synchronous) => FlushCore(Pointer, _length, mode);

    /// <summary>Writes the dirty pages of a range back to the file (msync).</summary>
    /// <param name="offset">Byte offset into the mapping; a multiple of <see cref="PageSize"/>.</param>
    /// <param name="length">Bytes; positive; the range is widened to whole pages.</param>
    /// <param name="mode">Wait for the write-back, or only schedule it.</param>
    /// <exception cref="ArgumentException">Unaligned offset, zero length or an unknown mode.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the mapping.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public void Flush(nuint offset, nuint length, FlushMode mode = FlushMode.Synchronous) => FlushCore(Range(offset, length), length, mode);

    /// <summary>
    /// Labels the mapping so that <c>/proc/&lt;pid&gt;/maps</c> shows it as <c>[anon:NAME]</c>
    /// (<c>prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...)</c>). The label is cosmetic.
    /// </summary>
    /// <param name="name">1 to 79 printable ASCII characters, none of <c>[ ] \ $ `</c>.</param>
    /// <returns>
    /// True if the kernel took the label; false where it refuses: a kernel older than 5.17 or built without
    /// CONFIG_ANON_VMA_NAME, or a mapping it does not label (file mappings, and shared anonymous ones before 6.2).
    /// </returns>
    /// <exception cref="ArgumentException">The name is empty, too long, or has a character the kernel rejects.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public bool Name(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        nint address = Pointer;
        ValidateName(name);
        return OsMemory.Name((void*)address, _length, name);
    }

    /// <summary>Unmaps the region. Safe to call more than once and from several threads at a time.</summary>
    public void Dispose()
    {
        Unmap();
        GC.SuppressFinalize(this);
    }

    /// <summary>Describes the mapping; never throws, also after <see cref="Dispose"/>.</summary>
    /// <returns>Kind, address and length, or that the mapping is disposed.</returns>
    public override string ToString()
    {
        nint address = Volatile.Read(ref _address);
        return address == 0
            ? $"MemoryMapping {Kind} (disposed)"
            : $"MemoryMapping {Kind} 0x{address:x}, {_length} bytes";
    }

    private void Unmap()
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address != 0)
        {
            // munmap of a range this object mapped cannot fail; there is nothing a finalizer could do if it did.
            Libc.munmap((void*)address, _length);
        }
    }

    private static MemoryMapping MapAnonymous(nuint length, MappingProtection protection, int visibility, MappingKind kind)
    {
        int prot = MappingFlags.ToProt(protection);
        if (length == 0)
        {
            ThrowZeroLength(nameof(length));
        }

        return new MemoryMapping(MapCore(length, prot, visibility | Libc.MAP_ANONYMOUS, -1, 0), length, kind);
    }

    private static MemoryMapping MapPath(string path, FileAccess access, long offset, long? length, MappingProtection protection, int visibility, MappingKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, access, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{Libc.Describe("open", Libc.ENOENT)}: {path}", path, e);
        }

        using (file)
        {
            return MapHandle(file, offset, length, protection, visibility, kind);
        }
    }

    private static MemoryMapping MapHandle(SafeFileHandle file, long offset, long? length, MappingProtection protection, int visibility, MappingKind kind)
    {
        ArgumentNullException.ThrowIfNull(file);
        ObjectDisposedException.ThrowIf(file.IsClosed, file);
        int prot = MappingFlags.ToProt(protection);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if ((ulong)offset % PageSize != 0)
        {
            throw new ArgumentException($"The file offset {offset} is not a multiple of the page size ({PageSize}).", nameof(offset));
        }

        long fileLength = RandomAccess.GetLength(file);
        long mapLength = length ?? Math.Max(0, fileLength - offset);
        if (mapLength == 0)
        {
            ThrowZeroLength(nameof(length));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(mapLength, nameof(length));
        if (offset > fileLength || mapLength > fileLength - offset)
        {
            throw new ArgumentException(
                $"The range [{offset}, {offset}+{mapLength}) runs past the end of the file ({fileLength} bytes); touching it would raise SIGBUS.",
                nameof(length));
        }

        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            if (visibility == Libc.MAP_SHARED && (prot & Libc.PROT_WRITE) != 0 && IsReadOnly(fd))
            {
                throw OsError.FromErrno("mmap", Libc.EACCES,
                    "a writable shared mapping needs the file open for reading and writing, and this handle is open read-only");
            }

            return new MemoryMapping(MapCore((nuint)mapLength, prot, visibility, fd, offset), (nuint)mapLength, kind);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    private static bool IsReadOnly(int fd)
    {
        int status = Libc.fcntl(fd, Libc.F_GETFL);
        return status != -1 && (status & Libc.O_ACCMODE) == Libc.O_RDONLY;
    }

    private static void* MapCore(nuint length, int prot, int flags, int fd, long offset)
    {
        void* address = Libc.mmap(null, length, prot, flags, fd, offset);
        if (address == Libc.MapFailed)
        {
            throw OsError.Last("mmap");
        }

        return address;
    }

    /// <summary>Checks a range of the mapping and returns its start address.</summary>
    private nint Range(nuint offset, nuint length)
    {
        nint address = Pointer;
        if (offset % PageSize != 0)
        {
            throw new ArgumentException($"The offset {offset} is not a multiple of the page size ({PageSize}).", nameof(offset));
        }

        if (length == 0)
        {
            ThrowZeroLength(nameof(length));
        }

        if (offset > _length || length > _length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"The range [{offset}, {offset}+{length}) is not inside the mapping of {_length} bytes.");
        }

        return address + (nint)offset;
    }

    private static void ProtectCore(nint address, nuint length, MappingProtection protection)
    {
        if (Libc.mprotect((void*)address, length, MappingFlags.ToProt(protection)) != 0)
        {
            throw OsError.Last("mprotect");
        }
    }

    private static void AdviseCore(nint address, nuint length, MappingAdvice advice)
    {
        if (Libc.madvise((void*)address, length, MappingFlags.ToMadvise(advice)) != 0)
        {
            throw OsError.Last("madvise");
        }
    }

    private static void FlushCore(nint address, nuint length, FlushMode mode)
    {
        if (Libc.msync((void*)address, length, MappingFlags.ToMsync(mode)) != 0)
        {
            throw OsError.Last("msync");
        }
    }

    /// <summary>The kernel's rules for a VMA name (mm/madvise.c): at most 79 bytes, printable, none of <c>[]\$`</c>.</summary>
    private static void ValidateName(string name)
    {
        const int MaxLength = 79;
        if (name.Length is 0 or > MaxLength)
        {
            throw new ArgumentException($"A mapping name has 1 to {MaxLength} characters; this one has {name.Length}.", nameof(name));
        }

        foreach (char c in name)
        {
            if (c is < ' ' or > '~' or '[' or ']' or '\\' or '$' or '`')
            {
                throw new ArgumentException($"The mapping name \"{name}\" has a character the kernel rejects: printable ASCII except [ ] \\ $ ` only.", nameof(name));
            }
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(MemoryMapping));

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowZeroLength(string paramName) => throw new ArgumentException("The length must be positive, not zero.", paramName);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTooLongForSpan() =>
        throw new InvalidOperationException($"The mapping is longer than {int.MaxValue} bytes, more than a span holds; use GetSpan(offset, length).");
}
