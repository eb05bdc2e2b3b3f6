using Allocator.Mapping;
using Allocator.Platform;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>The error table, row by row, provoked on the real kernel where it can be.</summary>
public sealed class MemoryMappingErrorTests
{
    private static readonly nuint s_page = MemoryMapping.PageSize;

    [Fact]
    public void ENOMEM_is_OutOfMemoryException_naming_the_call_and_errno()
    {
        // 2^60 bytes is more address space than x86-64 or arm64 user space has, whatever the overcommit policy.
        var e = Assert.Throws<OutOfMemoryException>(() => MemoryMapping.CreateAnonymousPrivate((nuint)1 << 60));

        Assert.Equal("mmap failed: ENOMEM (Cannot allocate memory)", e.Message);
    }

    [Fact]
    public void EACCES_from_the_kernel_is_UnauthorizedAccessException()
    {
        // The file is opened read-only for a read-only shared mapping; making it writable is refused by mprotect.
        using TempFile file = TempFile.CreatePages(1);
        using MemoryMapping mapping = MemoryMapping.CreateFileShared(file.Path, protection: MappingProtection.Read);

        var e = Assert.Throws<UnauthorizedAccessException>(() => mapping.Protect(MappingProtection.ReadWrite));

        Assert.Equal("mprotect failed: EACCES (Permission denied)", e.Message);
    }

    [Fact]
    public void Writable_shared_mapping_of_a_read_only_handle_is_refused_like_EACCES_before_mmap()
    {
        using TempFile file = TempFile.CreatePages(1);
        using SafeFileHandle readOnly = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read);

        var e = Assert.Throws<UnauthorizedAccessException>(() => MemoryMapping.CreateFileShared(readOnly, protection: MappingProtection.ReadWrite));

        Assert.StartsWith("mmap failed: EACCES (Permission denied): ", e.Message);
        Assert.Contains("read-only", e.Message);
    }

    [Fact]
    public void Writable_private_mapping_of_a_read_only_handle_is_allowed_because_copies_are_private()
    {
        using TempFile file = TempFile.CreatePages(1);
        using SafeFileHandle readOnly = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read);
        using MemoryMapping mapping = MemoryMapping.CreateFilePrivate(readOnly, protection: MappingProtection.ReadWrite);

        mapping.Span[0] = 0xCC;

        Assert.Equal(0xCC, mapping.Span[0]);
    }

    [Fact]
    public void Mapping_a_handle_open_write_only_is_EACCES_from_the_kernel()
    {
        using TempFile file = TempFile.CreatePages(1);
        using SafeFileHandle writeOnly = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Write);

        var e = Assert.Throws<UnauthorizedAccessException>(() => MemoryMapping.CreateFilePrivate(writeOnly));

        Assert.Equal("mmap failed: EACCES (Permission denied)", e.Message);
    }

    [Theory]
    [InlineData(Libc.EACCES, typeof(UnauthorizedAccessException))]
    [InlineData(Libc.EPERM, typeof(UnauthorizedAccessException))]
    [InlineData(Libc.ENOMEM, typeof(OutOfMemoryException))]
    [InlineData(Libc.EINVAL, typeof(ArgumentException))]
    [InlineData(Libc.ENOENT, typeof(FileNotFoundException))]
    [InlineData(Libc.ENODEV, typeof(IOException))]
    public void Each_errno_maps_to_its_exception(int errno, Type expected)
    {
        // EPERM (e.g. PROT_EXEC on a noexec mount) cannot be provoked portably, so the table itself is checked too.
        Exception e = OsError.FromErrno("mmap", errno);

        Assert.IsType(expected, e);
        Assert.StartsWith($"mmap failed: {Libc.ErrnoName(errno)} (", e.Message);
    }

    [Fact]
    public void EINVAL_from_the_kernel_is_ArgumentException()
    {
        // MADV_FREE is for private anonymous memory only; the kernel rejects it for a file with EINVAL.
        using TempFile file = TempFile.CreatePages(1);
        using MemoryMapping mapping = MemoryMapping.CreateFileShared(file.Path);

        var e = Assert.Throws<ArgumentException>(() => mapping.Advise(MappingAdvice.Free));

        Assert.Equal("madvise failed: EINVAL (Invalid argument)", e.Message);
    }

    [Fact]
    public void Unaligned_file_offset_is_ArgumentException()
    {
        using TempFile file = TempFile.CreatePages(2);

        var e = Assert.Throws<ArgumentException>(() => MemoryMapping.CreateFileShared(file.Path, offset: 100, length: 10));

        Assert.Equal("offset", e.ParamName);
    }

    [Fact]
    public void Zero_length_is_ArgumentException_for_every_kind()
    {
        using TempFile file = TempFile.CreatePages(1);
        using TempFile empty = TempFile.Create([]);

        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateAnonymousPrivate(0));
        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateAnonymousShared(0));
        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateFilePrivate(file.Path, length: 0));
        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateFileShared(file.Path, length: 0));
        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateFileShared(empty.Path)); // to the end of an empty file
        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateFilePrivate(file.Path, offset: (long)s_page)); // offset at the end
    }

    [Fact]
    public void A_range_past_the_end_of_the_file_is_ArgumentException()
    {
        using TempFile file = TempFile.CreatePages(1);

        var e = Assert.Throws<ArgumentException>(() => MemoryMapping.CreateFilePrivate(file.Path, length: (long)s_page + 1));

        Assert.Contains("past the end of the file", e.Message);
    }

    [Fact]
    public void Impossible_flags_are_ArgumentException()
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(s_page);

        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateAnonymousPrivate(s_page, (MappingProtection)8));
        Assert.Throws<ArgumentException>(() => mapping.Protect((MappingProtection)0x10 | MappingProtection.Read));
        Assert.Throws<ArgumentException>(() => mapping.Advise((MappingAdvice)99));
        Assert.Throws<ArgumentException>(() => mapping.Flush((FlushMode)3));
    }

    [Fact]
    public void Range_operations_check_alignment_length_and_bounds()
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(4 * s_page);

        Assert.Throws<ArgumentException>(() => mapping.Protect(1, s_page, MappingProtection.Read));
        Assert.Throws<ArgumentException>(() => mapping.Advise(s_page, 0, MappingAdvice.Normal));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.Flush(4 * s_page, s_page));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.Flush(s_page, 3 * s_page + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(4 * s_page, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(0, -1));
        Assert.Equal(4 * (int)s_page, mapping.GetSpan(0, 4 * (int)s_page).Length);
    }

    [Fact]
    public void Span_of_a_mapping_longer_than_a_span_holds_is_InvalidOperationException()
    {
        // 3 GiB of inaccessible address space: reserved, never committed, so it costs no memory.
        nuint length = (nuint)3 << 30;
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(length, MappingProtection.None);

        Assert.Throws<InvalidOperationException>(() => mapping.Span.Length);
        mapping.Protect(length - s_page, s_page, MappingProtection.ReadWrite);
        Assert.Equal(0, mapping.GetSpan(length - s_page, (int)s_page)[^1]);
    }

    [Fact]
    public void A_missing_file_is_FileNotFoundException_naming_the_path()
    {
        string missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "missing.bin");

        var e = Assert.Throws<FileNotFoundException>(() => MemoryMapping.CreateFileShared(missing));
        var e2 = Assert.Throws<FileNotFoundException>(() => MemoryMapping.CreateFilePrivate(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))));

        Assert.Equal(missing, e.FileName);
        Assert.StartsWith("open failed: ENOENT (No such file or directory): ", e.Message);
        Assert.NotNull(e2.FileName);
    }

    [Fact]
    public void A_closed_handle_is_ObjectDisposedException()
    {
        using TempFile file = TempFile.CreatePages(1);
        SafeFileHandle handle = File.OpenHandle(file.Path);
        handle.Dispose();

        Assert.Throws<ObjectDisposedException>(() => MemoryMapping.CreateFilePrivate(handle));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has[bracket")]
    [InlineData("dollar$")]
    [InlineData("back\\slash")]
    [InlineData("tick`")]
    [InlineData("new\nline")]
    [InlineData("é")]
    public void Name_rejects_what_the_kernel_would_reject(string name)
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(s_page);

        Assert.Throws<ArgumentException>(() => mapping.Name(name));
        Assert.Throws<ArgumentException>(() => mapping.Name(new string('a', 80)));
    }
}
