using Allocator.Mapping;
using FsCheck;
using FsCheck.Xunit;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>FsCheck properties over random lengths and offsets, with page alignment checked.</summary>
public sealed class MemoryMappingPropertyTests : IDisposable
{
    private const int FilePages = 16;
    private static readonly int s_page = (int)MemoryMapping.PageSize;
    private static readonly Lazy<ProcessMemoryMap> s_map = new(() => ProcessMemoryMap.ReadCurrent());

    private readonly TempFile _file = TempFile.CreatePages(FilePages);

    public void Dispose() => _file.Dispose();

    [Property(MaxTest = 60)]
    public void Anonymous_mapping_of_any_length_is_page_aligned_zeroed_and_covered_by_one_region(PositiveInt size, bool shared)
    {
        nuint length = (nuint)(1 + (size.Get % (4 << 20)));
        nuint rounded = (length + (nuint)s_page - 1) & ~((nuint)s_page - 1);
        using MemoryMapping mapping = shared ? MemoryMapping.CreateAnonymousShared(length) : MemoryMapping.CreateAnonymousPrivate(length);

        Assert.Equal(0, mapping.Pointer % s_page);
        Assert.Equal(length, mapping.Length);
        Assert.Equal((int)length, mapping.Span.Length);
        Assert.Equal(0, mapping.Span[^1]);
        mapping.Span[^1] = 1; // the last byte asked for is writable

        MemoryRegion region = ProcessMemoryMap.ReadCurrent().Find(mapping.Pointer)!;
        Assert.True(region.Start <= (nuint)mapping.Pointer);
        Assert.True(region.End >= (nuint)mapping.Pointer + rounded);
        Assert.Equal(shared ? "rw-s" : "rw-p", region.Permissions);
        if (shared)
        {
            // The kernel maps whole pages: a shared area is exactly the length rounded up to a page.
            Assert.Equal(rounded, region.Length);
        }
    }

    [Property(MaxTest = 60)]
    public void File_mapping_at_any_page_offset_sees_the_file_there(NonNegativeInt page, PositiveInt size, bool shared)
    {
        int firstPage = page.Get % FilePages;
        long offset = (long)firstPage * s_page;
        long length = 1 + (size.Get % ((FilePages - firstPage) * (long)s_page));
        using MemoryMapping mapping = shared
            ? MemoryMapping.CreateFileShared(_file.Path, offset, length, MappingProtection.Read)
            : MemoryMapping.CreateFilePrivate(_file.Path, offset, length);

        Assert.Equal(0, mapping.Pointer % s_page);
        Assert.Equal(firstPage + 1, mapping.Span[0]);
        Assert.Equal((int)((offset + length - 1) / s_page) + 1, mapping.Span[^1]);
        MemoryRegion region = ProcessMemoryMap.ReadCurrent().Find(mapping.Pointer)!;
        Assert.Equal(offset, region.Offset);
        Assert.Equal((nuint)mapping.Pointer, region.Start);
    }

    [Property(MaxTest = 100)]
    public void A_file_offset_off_the_page_grid_is_always_ArgumentException(NonNegativeInt page, PositiveInt within)
    {
        long offset = (long)(page.Get % FilePages) * s_page + 1 + (within.Get % (s_page - 1));

        Assert.Throws<ArgumentException>(() => MemoryMapping.CreateFilePrivate(_file.Path, offset, 1));
    }

    [Property(MaxTest = 100)]
    public void Range_operations_accept_exactly_the_aligned_ranges_inside_the_mapping(NonNegativeInt offsetSeed, NonNegativeInt lengthSeed)
    {
        const int Pages = 8;
        nuint size = (nuint)(Pages * s_page);
        nuint offset = (nuint)(offsetSeed.Get % (int)(size + (nuint)s_page));
        nuint length = (nuint)(lengthSeed.Get % (int)(size + (nuint)s_page));
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(size);

        Exception? error = Record.Exception(() => mapping.Protect(offset, length, MappingProtection.Read));

        if (offset % (nuint)s_page != 0 || length == 0)
        {
            Assert.IsType<ArgumentException>(error);
        }
        else if (offset + length > size)
        {
            Assert.IsType<ArgumentOutOfRangeException>(error);
        }
        else
        {
            Assert.Null(error);
            MemoryRegion region = ProcessMemoryMap.ReadCurrent().Find(mapping.Pointer + (nint)offset)!;
            Assert.Equal("r--p", region.Permissions);
        }
    }

    [Property(MaxTest = 200)]
    public void Find_agrees_with_a_linear_scan(ulong seed)
    {
        ProcessMemoryMap map = s_map.Value;
        MemoryRegion pick = map.Regions[(int)(seed % (ulong)map.Regions.Count)];
        nuint[] probes = [pick.Start, pick.End - 1, pick.End, pick.Start - 1, (nuint)seed];

        foreach (nuint address in probes)
        {
            Assert.Equal(map.Regions.FirstOrDefault(r => r.Contains(address)), map.Find(address));
        }
    }
}
