using Allocator.Mapping;
using Allocator.Platform;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>
/// <see cref="ProcessMemoryMap"/> against the real <c>/proc/self/maps</c>: each kind of mapping shows with
/// its flags, offset and path; Protect, Name and Dispose show too. Fixed sample lines are in
/// <see cref="ProcessMemoryMapParserTests"/>.
/// </summary>
public sealed unsafe class ProcessMemoryMapTests
{
    private static readonly nuint s_page = MemoryMapping.PageSize;

    private static MemoryRegion RegionOf(MemoryMapping mapping, bool includeUsage = false)
    {
        MemoryRegion? region = ProcessMemoryMap.ReadCurrent(includeUsage).Find(mapping.Pointer);
        Assert.NotNull(region);
        return region;
    }

    private static void AssertExactly(MemoryMapping mapping, MemoryRegion region)
    {
        Assert.Equal((nuint)mapping.Pointer, region.Start);
        Assert.Equal((nuint)mapping.Pointer + ((mapping.Length + s_page - 1) & ~(s_page - 1)), region.End);
    }

    [Fact]
    public void Anonymous_private_shows_as_rw_p_without_path()
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(3 * s_page);

        MemoryRegion region = RegionOf(mapping);

        // Neighbouring anonymous areas with the same flags may be merged into one line: the region covers the mapping.
        Assert.True(region.Start <= (nuint)mapping.Pointer && region.End >= (nuint)mapping.Pointer + 3 * s_page);
        Assert.Equal("rw-p", region.Permissions);
        Assert.Equal(0, region.Offset);
        Assert.Equal(0UL, region.Inode);
        Assert.Equal((0, 0), (region.DeviceMajor, region.DeviceMinor));
        Assert.Equal("", region.Path);
        Assert.False(region.IsDeleted);
    }

    [Fact]
    public void Anonymous_shared_shows_as_rw_s_on_a_deleted_dev_zero()
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousShared(2 * s_page + 1);

        MemoryRegion region = RegionOf(mapping);

        AssertExactly(mapping, region);
        Assert.Equal("rw-s", region.Permissions);
        Assert.Equal(0, region.Offset);
        Assert.NotEqual(0UL, region.Inode);
        Assert.Equal("/dev/zero", region.Path);
        Assert.True(region.IsDeleted);
    }

    [Theory]
    [InlineData(MappingKind.FilePrivate, MappingProtection.Read, 1, "r--p")]
    [InlineData(MappingKind.FilePrivate, MappingProtection.ReadWrite, 0, "rw-p")]
    [InlineData(MappingKind.FilePrivate, MappingProtection.Read | MappingProtection.Execute, 2, "r-xp")]
    [InlineData(MappingKind.FileShared, MappingProtection.Read, 3, "r--s")]
    [InlineData(MappingKind.FileShared, MappingProtection.ReadWrite, 2, "rw-s")]
    [InlineData(MappingKind.FileShared, MappingProtection.None, 1, "---s")]
    public void File_mappings_show_their_flags_offset_and_path(MappingKind kind, MappingProtection protection, int page, string permissions)
    {
        using TempFile file = TempFile.CreatePages(4);
        long offset = page * (long)s_page;
        using MemoryMapping mapping = kind == MappingKind.FilePrivate
            ? MemoryMapping.CreateFilePrivate(file.Path, offset, null, protection)
            : MemoryMapping.CreateFileShared(file.Path, offset, null, protection);

        MemoryRegion region = RegionOf(mapping);

        AssertExactly(mapping, region);
        Assert.Equal(permissions, region.Permissions);
        Assert.Equal(offset, region.Offset);
        Assert.EndsWith("/" + Path.GetFileName(file.Path), region.Path);
        Assert.True(File.Exists(region.Path));
        Assert.NotEqual(0UL, region.Inode);
        Assert.False(region.IsDeleted);
    }

    [Fact]
    public void A_path_with_spaces_shows_whole_and_a_deleted_file_is_marked()
    {
        using TempFile file = TempFile.CreatePages(1, $"a file with  spaces {Guid.NewGuid():N}.bin");
        using MemoryMapping mapping = MemoryMapping.CreateFilePrivate(file.Path);

        MemoryRegion region = RegionOf(mapping);
        Assert.EndsWith("/" + Path.GetFileName(file.Path), region.Path);
        Assert.False(region.IsDeleted);

        File.Delete(file.Path);
        MemoryRegion deleted = RegionOf(mapping);
        Assert.Equal(region.Path, deleted.Path);
        Assert.True(deleted.IsDeleted);
        Assert.Equal(1, mapping.Span[0]); // the pages live on until unmapped
    }

    [Fact]
    public void Protect_changes_the_flags_shown_and_splits_the_region()
    {
        using TempFile file = TempFile.CreatePages(3);
        using MemoryMapping mapping = MemoryMapping.CreateFileShared(file.Path);
        Assert.Equal("rw-s", RegionOf(mapping).Permissions);

        mapping.Protect(s_page, s_page, MappingProtection.Read);

        ProcessMemoryMap map = ProcessMemoryMap.ReadCurrent();
        MemoryRegion[] parts = [.. Enumerable.Range(0, 3).Select(i => map.Find(mapping.Pointer + i * (nint)s_page)!)];
        Assert.Equal(["rw-s", "r--s", "rw-s"], parts.Select(r => r.Permissions));
        Assert.Equal([0, (long)s_page, 2 * (long)s_page], parts.Select(r => r.Offset));
        Assert.All(parts, r => Assert.Equal(s_page, r.Length));

        mapping.Protect(MappingProtection.None);
        MemoryRegion whole = RegionOf(mapping);
        Assert.Equal("---s", whole.Permissions);
        AssertExactly(mapping, whole);
    }

    [Fact]
    public void Name_shows_as_anon_NAME_exactly_when_the_kernel_takes_it()
    {
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(2 * s_page);
        string name = "allocator-test-" + Guid.NewGuid().ToString("N")[..8];

        bool named = mapping.Name(name);
        MemoryRegion region = RegionOf(mapping);

        // Kernels before 5.17 or without CONFIG_ANON_VMA_NAME refuse (EINVAL): then nothing may have changed.
        if (named)
        {
            Assert.Equal($"[anon:{name}]", region.Path);
            Assert.Equal(name, region.AnonymousName);
            AssertExactly(mapping, region); // a named area is never merged with unnamed neighbours
        }
        else
        {
            Assert.Equal(Libc.EINVAL, OsMemory.t_lastErrno);
            Assert.Equal("", region.Path);
            Assert.Null(region.AnonymousName);
        }
    }

    [Fact]
    public void Name_of_a_file_mapping_is_refused_and_changes_nothing()
    {
        using TempFile file = TempFile.CreatePages(1);
        using MemoryMapping mapping = MemoryMapping.CreateFilePrivate(file.Path);
        MemoryRegion before = RegionOf(mapping);

        Assert.False(mapping.Name("file"));
        Assert.Equal(before, RegionOf(mapping));
    }

    [Fact]
    public void File_and_shared_regions_are_gone_after_Dispose()
    {
        using TempFile file = TempFile.CreatePages(2);
        MemoryMapping fileMapping = MemoryMapping.CreateFilePrivate(file.Path);
        MemoryMapping sharedMapping = MemoryMapping.CreateAnonymousShared(s_page);
        ulong sharedInode = RegionOf(sharedMapping).Inode;
        string path = RegionOf(fileMapping).Path;
        Assert.EndsWith("/" + Path.GetFileName(file.Path), path);

        fileMapping.Dispose();
        sharedMapping.Dispose();

        ProcessMemoryMap after = ProcessMemoryMap.ReadCurrent();
        Assert.DoesNotContain(after.Regions, r => r.Path == path);
        Assert.DoesNotContain(after.Regions, r => r.IsShared && r.Inode == sharedInode);
    }

    [Fact]
    public void Anonymous_private_region_is_gone_after_Dispose()
    {
        // An odd size and read-only protection make the area recognisable; another thread could map something
        // new into the hole at once, but not an identical area.
        MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(7 * s_page, MappingProtection.Read);
        nint address = mapping.Pointer;
        MemoryRegion before = RegionOf(mapping);
        Assert.Equal("r--p", before.Permissions);

        mapping.Dispose();

        Assert.NotEqual(before, ProcessMemoryMap.ReadCurrent().Find(address));
    }

    [Fact]
    public void Smaps_usage_counts_touched_pages_and_splits_Pss_between_two_views()
    {
        // Shared anonymous memory: never merged with neighbours, and written pages are faulted in one by one.
        nuint length = 16 * s_page;
        using MemoryMapping mapping = MemoryMapping.CreateAnonymousShared(length);
        for (int i = 0; i < 4; i++)
        {
            mapping.Span[i * (int)s_page] = 1;
        }

        MemoryRegionUsage alone = RegionOf(mapping, includeUsage: true).Usage!;
        Assert.Equal(4 * (long)s_page, alone.Rss);
        Assert.Equal(4 * (long)s_page, alone.Pss);
        Assert.Equal(4 * (long)s_page, alone.PrivateDirty);
        Assert.Equal(0, alone.Swap);
        Assert.Contains("sh", alone.VmFlags);

        // A second view of the same pages: each is now mapped twice, so it is no longer private and Pss halves.
        using SecondView view = SecondView.Of(mapping);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(1, view.Span[i * (int)s_page]);
        }

        MemoryRegionUsage both = RegionOf(mapping, includeUsage: true).Usage!;
        Assert.Equal(4 * (long)s_page, both.Rss);
        Assert.Equal(2 * (long)s_page, both.Pss);
        Assert.Equal(0, both.PrivateDirty);
    }

    [Fact]
    public void The_current_process_has_a_stack_and_a_vdso_and_nothing_at_address_zero()
    {
        ProcessMemoryMap map = ProcessMemoryMap.Read(Environment.ProcessId);

        Assert.Equal(Environment.ProcessId, map.ProcessId);
        Assert.Contains(map.Regions, r => r.Path == "[stack]" && r.Permissions == "rw-p");
        Assert.Contains(map.Regions, r => r.Path == "[vdso]" && r.CanExecute);
        Assert.Null(map.Find((nuint)0));
        for (int i = 1; i < map.Regions.Count; i++)
        {
            Assert.True(map.Regions[i - 1].End <= map.Regions[i].Start, "regions are sorted and disjoint");
        }
    }

    [Fact]
    public void A_missing_pid_is_ProcessNotFoundException()
    {
        // pid_max is at most 2^22, so int.MaxValue never names a process.
        var e = Assert.Throws<ProcessNotFoundException>(() => ProcessMemoryMap.Read(int.MaxValue));
        var e2 = Assert.Throws<ProcessNotFoundException>(() => ProcessMemoryMap.Read(int.MaxValue, includeUsage: true));

        Assert.Equal(int.MaxValue, e.ProcessId);
        Assert.Contains($"/proc/{int.MaxValue}/maps", e.Message);
        Assert.Contains($"/proc/{int.MaxValue}/smaps", e2.Message);
    }
}
