using System.Runtime.InteropServices;
using Allocator.Mapping;
using Allocator.Platform;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>
/// The seed's table of the four kinds of mapping, made real on the kernel: who sees a write, and whether
/// it reaches the file. Errors and lifetime are in <see cref="MemoryMappingErrorTests"/> and
/// <see cref="MemoryMappingLifetimeTests"/>.
/// </summary>
public sealed unsafe class MemoryMappingTests
{
    private static readonly int s_page = (int)MemoryMapping.PageSize;

    [Theory]
    [InlineData(MappingKind.AnonymousPrivate)]
    [InlineData(MappingKind.AnonymousShared)]
    public void Anonymous_mappings_start_zero_filled_and_are_writable(MappingKind kind)
    {
        nuint length = (nuint)(3 * s_page + 1);
        using MemoryMapping mapping = kind == MappingKind.AnonymousPrivate
            ? MemoryMapping.CreateAnonymousPrivate(length)
            : MemoryMapping.CreateAnonymousShared(length);

        Assert.Equal(kind, mapping.Kind);
        Assert.Equal(length, mapping.Length);
        Assert.Equal(0, mapping.Pointer % s_page);
        Assert.Equal(-1, mapping.Span.IndexOfAnyExcept((byte)0));

        mapping.Span.Fill(0xA5);
        Assert.Equal(-1, mapping.Span.IndexOfAnyExcept((byte)0xA5));
    }

    [Fact]
    public void File_private_write_is_seen_through_the_mapping_but_does_not_reach_the_file()
    {
        using TempFile file = TempFile.CreatePages(2);
        using (MemoryMapping mapping = MemoryMapping.CreateFilePrivate(file.Path, protection: MappingProtection.ReadWrite))
        {
            Assert.Equal(MappingKind.FilePrivate, mapping.Kind);
            Assert.Equal(1, mapping.Span[0]);
            Assert.Equal(2, mapping.Span[s_page]);

            mapping.Span[..16].Fill(0x77);
            mapping.Flush(); // msync of a private mapping writes nothing back: its copies are anonymous.

            Assert.Equal(0x77, mapping.Span[0]);
            Assert.Equal(0x77, mapping.Span[15]);
            Assert.Equal(1, mapping.Span[16]);
        }

        Assert.Equal(TempFile.PagePattern(2), File.ReadAllBytes(file.Path));
    }

    [Theory]
    [InlineData(MappingKind.FilePrivate)]
    [InlineData(MappingKind.FileShared)]
    public void File_private_write_is_not_seen_by_a_second_mapping_of_the_file(MappingKind secondKind)
    {
        using TempFile file = TempFile.CreatePages(2);
        using MemoryMapping writer = MemoryMapping.CreateFilePrivate(file.Path, protection: MappingProtection.ReadWrite);
        using MemoryMapping before = Map(file.Path, secondKind);

        writer.Span[s_page] = 0x55; // copy-on-write: this page is now private to 'writer'
        using MemoryMapping after = Map(file.Path, secondKind);

        Assert.Equal(0x55, writer.Span[s_page]);
        Assert.Equal(2, before.Span[s_page]);
        Assert.Equal(2, after.Span[s_page]);

        static MemoryMapping Map(string path, MappingKind kind) => kind == MappingKind.FilePrivate
            ? MemoryMapping.CreateFilePrivate(path)
            : MemoryMapping.CreateFileShared(path, protection: MappingProtection.Read);
    }

    [Fact]
    public void File_private_mapping_is_still_private_after_a_shared_writer_changes_another_page()
    {
        // Copy-on-write works per page: pages this mapping never wrote keep following the file.
        using TempFile file = TempFile.CreatePages(2);
        using MemoryMapping privateMap = MemoryMapping.CreateFilePrivate(file.Path, protection: MappingProtection.ReadWrite);
        using MemoryMapping sharedMap = MemoryMapping.CreateFileShared(file.Path);

        privateMap.Span[0] = 0x10;
        sharedMap.Span[0] = 0x20;
        sharedMap.Span[s_page] = 0x30;

        Assert.Equal(0x10, privateMap.Span[0]);
        Assert.Equal(0x30, privateMap.Span[s_page]);
    }

    [Fact]
    public void File_shared_write_is_seen_through_a_second_mapping_of_the_file()
    {
        using TempFile file = TempFile.CreatePages(3);
        using MemoryMapping first = MemoryMapping.CreateFileShared(file.Path);
        using MemoryMapping second = MemoryMapping.CreateFileShared(file.Path, offset: s_page, length: s_page, MappingProtection.Read);

        Assert.Equal(MappingKind.FileShared, first.Kind);
        Assert.NotEqual(first.Pointer + s_page, second.Pointer);
        Assert.Equal(2, second.Span[0]);

        "shared"u8.CopyTo(first.Span[s_page..]);

        Assert.True(second.Span.StartsWith("shared"u8));
    }

    [Theory]
    [InlineData(FlushMode.Synchronous)]
    [InlineData(FlushMode.Asynchronous)]
    public void File_shared_write_reaches_the_file_after_flush(FlushMode mode)
    {
        using TempFile file = TempFile.CreatePages(4);
        using (SafeFileHandle handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.ReadWrite))
        using (MemoryMapping mapping = MemoryMapping.CreateFileShared(handle, offset: s_page, length: 2 * s_page))
        {
            "whole"u8.CopyTo(mapping.Span);
            mapping.Flush(mode);
            "range"u8.CopyTo(mapping.GetSpan((nuint)s_page, 5));
            mapping.Flush((nuint)s_page, 5, mode);
        }

        byte[] expected = TempFile.PagePattern(4);
        "whole"u8.CopyTo(expected.AsSpan(s_page));
        "range"u8.CopyTo(expected.AsSpan(2 * s_page));
        Assert.Equal(expected, File.ReadAllBytes(file.Path));
    }

    [Fact]
    public void Anonymous_shared_pages_are_shared_with_a_second_view_made_by_mremap()
    {
        nuint length = (nuint)(2 * s_page);
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousShared(length);

        // mremap(old, 0, len, MREMAP_MAYMOVE) maps the same shared pages a second time, at a new address.
        using SecondView view = SecondView.Of(mapping);

        Assert.NotEqual(mapping.Pointer, view.Pointer);
        mapping.Span[s_page + 7] = 0x42;
        Assert.Equal(0x42, view.Span[s_page + 7]);

        view.Span[3] = 0x24;
        Assert.Equal(0x24, mapping.Span[3]);
    }

    [Fact]
    public void Anonymous_private_pages_cannot_get_a_second_view()
    {
        // The contrast to the test above: the kernel refuses to duplicate a private mapping.
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate((nuint)s_page);

        void* view = Libc.mremap((void*)mapping.Pointer, 0, (nuint)s_page, Libc.MREMAP_MAYMOVE);

        Assert.True(view == Libc.MapFailed);
        Assert.Equal(Libc.EINVAL, Marshal.GetLastPInvokeError());
    }

    [Fact]
    public void Protect_changes_what_the_pages_allow()
    {
        using TempFile file = TempFile.CreatePages(1);
        using MemoryMapping mapping = MemoryMapping.CreateFilePrivate(file.Path, protection: MappingProtection.None);

        mapping.Protect(MappingProtection.Read);
        Assert.Equal(1, mapping.Span[0]);

        mapping.Protect(MappingProtection.ReadWrite);
        mapping.Span[0] = 9;
        Assert.Equal(9, mapping.Span[0]);
    }

    [Theory]
    [InlineData(MappingAdvice.Normal)]
    [InlineData(MappingAdvice.Random)]
    [InlineData(MappingAdvice.Sequential)]
    [InlineData(MappingAdvice.WillNeed)]
    [InlineData(MappingAdvice.DontNeed)]
    [InlineData(MappingAdvice.Free)]
    [InlineData(MappingAdvice.HugePage)]
    [InlineData(MappingAdvice.NoHugePage)]
    public void Every_advice_is_accepted_for_anonymous_private_memory(MappingAdvice advice)
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate((nuint)(4 * s_page));
        mapping.Span.Fill(1);

        mapping.Advise(advice);
        mapping.Advise((nuint)s_page, (nuint)s_page, advice);

        // Advice leaves the data alone, except that DontNeed drops private pages (they read as zero) and
        // Free lets the kernel drop them lazily (each page reads as either its old value or zero).
        byte[] seen = mapping.Span.ToArray();
        switch (advice)
        {
            case MappingAdvice.DontNeed:
                Assert.Equal(-1, seen.AsSpan().IndexOfAnyExcept((byte)0));
                break;
            case MappingAdvice.Free:
                Assert.Equal(-1, seen.AsSpan().IndexOfAnyExcept((byte)0, (byte)1));
                break;
            default:
                Assert.Equal(-1, seen.AsSpan().IndexOfAnyExcept((byte)1));
                break;
        }
    }

    [Fact]
    public void DontNeed_drops_private_anonymous_pages_so_they_read_as_zero()
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate((nuint)(3 * s_page));
        mapping.Span.Fill(0xEE);

        mapping.Advise((nuint)s_page, (nuint)s_page, MappingAdvice.DontNeed);

        Assert.Equal(0xEE, mapping.Span[s_page - 1]);
        Assert.Equal(-1, mapping.GetSpan((nuint)s_page, s_page).IndexOfAnyExcept((byte)0));
        Assert.Equal(0xEE, mapping.Span[2 * s_page]);
    }

    [Fact]
    public void DontNeed_on_a_shared_file_mapping_keeps_the_data()
    {
        using TempFile file = TempFile.CreatePages(1);
        using MemoryMapping mapping = MemoryMapping.CreateFileShared(file.Path);
        mapping.Span[0] = 0x99;

        mapping.Advise(MappingAdvice.DontNeed);

        Assert.Equal(0x99, mapping.Span[0]);
    }

    [Theory]
    [InlineData(MappingAdvice.Random, "rr")]
    [InlineData(MappingAdvice.Sequential, "sr")]
    [InlineData(MappingAdvice.HugePage, "hg")]
    [InlineData(MappingAdvice.NoHugePage, "nh")]
    public void Advice_shows_in_the_regions_VmFlags(MappingAdvice advice, string flag)
    {
        using TempFile file = TempFile.CreatePages(2);
        using MemoryMapping mapping = MemoryMapping.CreateFilePrivate(file.Path, protection: MappingProtection.ReadWrite);
        Assert.DoesNotContain(flag, Usage(mapping).VmFlags);

        mapping.Advise(advice);

        Assert.Contains(flag, Usage(mapping).VmFlags);

        static MemoryRegionUsage Usage(MemoryMapping mapping) =>
            ProcessMemoryMap.ReadCurrent(includeUsage: true).Find(mapping.Pointer)!.Usage!;
    }
}
