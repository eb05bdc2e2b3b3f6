using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;
using ScottPlot;

namespace Allocator.Benchmarks.Quick;

/// <summary>The PNG chart of a <c>quick</c> run: time ratio to ours (top) and peak RSS (bottom), one group of
/// bars per workload and one colour per allocator.</summary>
public static class ResultChart
{
    private const int Width = 1400;
    private const int Height = 1000;

    /// <summary>Renders <paramref name="report"/> to <paramref name="path"/>.</summary>
    public static void Write(QuickReport report, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        Draw(multiplot.GetPlot(0), report, report.TimeRatio, "Time, ratio to ours (lower is faster)");
        Draw(multiplot.GetPlot(1), report, report.PeakMiB, "Peak RSS, MiB");
        multiplot.SavePng(path, Width, Height);
    }

    private static void Draw(Plot plot, QuickReport report, Func<Workload, Competitor, double?> value, string title)
    {
        IReadOnlyList<Workload> workloads = report.Workloads;
        IReadOnlyList<Competitor> competitors = report.Competitors;
        double barWidth = 0.8 / competitors.Count;
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<Bar>();
        for (int w = 0; w < workloads.Count; w++)
        {
            for (int c = 0; c < competitors.Count; c++)
            {
                if (value(workloads[w], competitors[c]) is { } v)
                {
                    bars.Add(new Bar
                    {
                        Position = w - 0.4 + barWidth * (c + 0.5),
                        Value = v,
                        Size = barWidth,
                        FillColor = palette.GetColor(c),
                        LineWidth = 0,
                    });
                }
            }
        }

        plot.Add.Bars(bars);
        for (int c = 0; c < competitors.Count; c++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = competitors[c].Name, FillColor = palette.GetColor(c) });
        }

        plot.ShowLegend(Edge.Right);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, workloads.Count).Select(i => (double)i).ToArray(), workloads.Select(w => w.Name).ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
    }
}
