"""`light_plot`: a plotly chart from plotly's basic bundle, loaded after the page's numbers.

`rx.plotly` loads the whole of plotly.js (4.5 MB of script, 1.4 MB compressed) as soon as a
chart mounts, so on the usage page the browser parses it while the page's data arrives and
everything waits. Our charts only draw bars and lines, which the basic bundle
(`plotly.js-basic-dist-min`: bar, scatter, pie; 1.1 MB, 0.37 MB compressed) has. This
component builds the React chart from that bundle with `react-plotly.js/factory`, as
Reflex's own `PlotlyBasic` does, and differs where our pages need it to:

- it imports the bundle only once the figure has something to draw (traces, or the
  empty-state note of state/figures.py) and the browser is idle, i.e. after the numbers that
  came with the figure are on screen; the state's placeholder figure draws nothing;
- one import serves every chart of the page (and later pages), and the charts then draw
  (and redraw, for new figures) one at a time, each in a task of its own, so the page
  answers clicks in between; a figure that arrives again unchanged is not redrawn;
- no `useResizeHandler` (its resize right after the first draw draws each chart twice);
  `config.responsive` follows the window;
- zh pages register plotly's zh-CN locale (`plotly.js-locales/zh-cn.js`, loaded only then)
  and set `config.locale`;
- light and dark templates (trimmed from plotly's "plotly" and "plotly_dark": what bars and
  lines use) live once in the page's code; the colour mode picks one, like `rx.plotly`;
- layout and config are memoised, so a re-render of the page state does not redraw.

`div_id` goes to react-plotly's `divId`: `#<div_id>` is the element plotly draws in (class
`js-plotly-plot`, `.data` / `.layout` readable), and exists once the chart is drawn."""

from __future__ import annotations

import functools
import json
from typing import Any

import reflex as rx
from plotly.graph_objs import Figure
from plotly.io import templates
from reflex.utils.imports import ImportDict, ImportVar

from aiusage.state.figures import CHART_COLORS

PLOTLY_VERSION = "3.7.0"  # the plotly.js that Reflex 0.10.1's rx.plotly pins
REACT_PLOTLY = "react-plotly.js@4.1.0"
BUNDLE = "plotly.js-basic-dist-min"
LOCALES = "plotly.js-locales"
# Page language -> the plotly locale module to register ("en" is built in).
PLOTLY_LOCALES = {"zh": f"{LOCALES}/zh-cn.js"}

# What of plotly's templates our bars and lines use; the rest (geo, polar, colour scales...)
# would only grow every page that has a chart.
_TEMPLATE_LAYOUT_KEYS = ("font", "xaxis", "yaxis", "hoverlabel", "annotationdefaults")
_TEMPLATE_TRACES = ("bar", "scatter")


def _template(name: str, *, grid: str, hover_bg: str) -> dict[str, Any]:
    full = templates[name].to_plotly_json()
    layout = {key: full["layout"][key] for key in _TEMPLATE_LAYOUT_KEYS}
    # Our figures have transparent backgrounds, so the light template's white grid would
    # vanish; the unified hover box would be transparent too.
    for axis in ("xaxis", "yaxis"):
        layout[axis] = {**layout[axis], "gridcolor": grid, "zerolinecolor": grid}
    layout["hoverlabel"] = {**layout["hoverlabel"], "bgcolor": hover_bg}
    layout["colorway"] = CHART_COLORS  # traces without a colour of their own (tokens, ok)
    data = {kind: full["data"][kind] for kind in _TEMPLATE_TRACES}
    return {"layout": layout, "data": data}


def themes() -> dict[str, dict[str, Any]]:
    return {
        "light": _template("plotly", grid="#e6e8eb", hover_bg="#ffffff"),
        "dark": _template("plotly_dark", grid="#283442", hover_bg="#191d24"),
    }


_LOCALE_IMPORTS = ",\n".join(
    f'  {json.dumps(lang)}: () => import("{module}")' for lang, module in PLOTLY_LOCALES.items()
)


@functools.cache
def _custom_code() -> str:
    """The page-level code every chart shares (emitted once per page module)."""
    return (
        _CODE.replace("__THEMES__", json.dumps(themes(), separators=(",", ":")))
        .replace("__LOCALES__", _LOCALE_IMPORTS)
        .replace("__BUNDLE__", BUNDLE)
    )


_CODE = """
const AIU_PLOT_THEMES = __THEMES__;
const AIU_PLOT_LOCALES = {
__LOCALES__
};
let aiuPlotLib = null;
// The bundle and react-plotly's factory, imported once for every chart.
const aiuLoadPlot = () => {
  aiuPlotLib ??= Promise.all([import("react-plotly.js/factory"), import("__BUNDLE__")]).then(
    ([factory, bundle]) => {
      const Plotly = bundle.default ?? bundle;
      const create = factory.default?.default ?? factory.default ?? factory;
      return {Plot: create(Plotly), Plotly, locales: {}};
    });
  return aiuPlotLib;
};
// The plotly locale name for a page language, registered on first use.
const aiuPlotLocale = (lib, lang) => {
  const load = AIU_PLOT_LOCALES[lang];
  if (!load) return Promise.resolve(null);
  lib.locales[lang] ??= load().then((mod) => {
    const locale = mod.default ?? mod;
    lib.Plotly.register(locale);
    return locale.name;
  });
  return lib.locales[lang];
};
const aiuPlotHasContent = (figure) =>
  !!figure && ((figure.data?.length ?? 0) > 0 || (figure.layout?.annotations?.length ?? 0) > 0);
// Runs `task` once the browser is idle (the numbers drawn), at the latest after `ms`.
const aiuWhenIdle = (task, ms) => {
  if (typeof window.requestIdleCallback === "function") {
    const id = window.requestIdleCallback(task, {timeout: ms});
    return () => window.cancelIdleCallback(id);
  }
  const id = window.setTimeout(task, 0);
  return () => window.clearTimeout(id);
};
let aiuPlotTurns = Promise.resolve();
// Draws take turns, each in a task of its own, so a click between two charts is not kept
// waiting for all of them. `draw(done)` calls `done` once drawn (or after 2 s).
const aiuTakeTurn = (draw) => {
  aiuPlotTurns = aiuPlotTurns
    .then(() => new Promise((yielded) => window.setTimeout(yielded, 0)))
    .then(() => new Promise((done) => { window.setTimeout(done, 2000); draw(done); }));
};
function AiuPlot({figure, dark, lang, config, divId, height}) {
  // A figure that arrives again unchanged (a page load restoring the tab's state, then
  // on_load sending the same figure anew) is not drawn again.
  const figureKey = useMemo(() => JSON.stringify(figure ?? null), [figure]);
  const ready = aiuPlotHasContent(figure);
  const [shown, setShown] = useState(null);  // what plotly draws: {Plot, locale, figure}
  const endTurn = useRef(null);
  const drawn = useCallback(() => { endTurn.current?.(); endTurn.current = null; }, []);
  useEffect(() => {
    if (!ready) return undefined;
    let live = true;
    const target = figure;
    const cancel = aiuWhenIdle(() => {
      aiuLoadPlot()
        .then((lib) => aiuPlotLocale(lib, lang).then((locale) => ({Plot: lib.Plot, locale})))
        .then((next) => {
          if (!live) return;
          aiuTakeTurn((done) => {
            if (!live) { done(); return; }
            endTurn.current = done;
            setShown({...next, figure: target});
          });
        });
    }, 300);
    return () => { live = false; cancel(); drawn(); };
  }, [ready, lang, figureKey, drawn]);
  const configKey = JSON.stringify(config ?? {});
  const locale = shown?.locale ?? null;
  const fullConfig = useMemo(() => {
    const base = JSON.parse(configKey);
    return locale ? {...base, locale} : base;
  }, [configKey, locale]);
  const drawnFigure = shown?.figure;
  const layout = useMemo(
    () => ({...(drawnFigure?.layout ?? {}), template: AIU_PLOT_THEMES[dark ? "dark" : "light"]}),
    [drawnFigure, dark],
  );
  const style = useMemo(() => ({width: "100%", height}), [height]);
  if (!shown || !ready) return createElement("div", {style, "data-chart-pending": divId});
  return createElement(shown.Plot, {
    divId, data: drawnFigure.data, layout, config: fullConfig, style,
    onInitialized: drawn, onUpdate: drawn, onError: drawn,
  });
}
"""


class LightPlot(rx.Component):
    """A plotly figure drawn with plotly's basic bundle (bar, scatter, pie)."""

    # The chart component is defined in this component's custom code, not imported.
    library: str | None = None
    tag = "AiuPlot"
    lib_dependencies: list[str] = [
        REACT_PLOTLY,
        f"{BUNDLE}@{PLOTLY_VERSION}",
        f"{LOCALES}@{PLOTLY_VERSION}",
    ]

    figure: rx.Var[Figure]
    dark: rx.Var[bool]
    lang: rx.Var[str]
    config: rx.Var[dict]
    div_id: rx.Var[str]
    height: rx.Var[str]

    def add_imports(self) -> ImportDict:
        return {
            "react": [
                ImportVar(tag="createElement"),
                ImportVar(tag="useCallback"),
                ImportVar(tag="useEffect"),
                ImportVar(tag="useMemo"),
                ImportVar(tag="useRef"),
                ImportVar(tag="useState"),
            ]
        }

    def add_custom_code(self) -> list[str]:
        return [_custom_code()]

    @classmethod
    def create(cls, *children: Any, **props: Any) -> LightPlot:
        # Light or dark follows the page's resolved colour mode, as rx.plotly's template does.
        props.setdefault("dark", rx.color_mode_cond(light=False, dark=True))
        props.setdefault("height", "280px")
        return super().create(*children, **props)


light_plot = LightPlot.create
