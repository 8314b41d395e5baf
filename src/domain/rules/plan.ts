/**
 * Rules on support-plan activities that the CarePlan profile also states (`tyk-rwa-1`, `tyk-rwa-2`,
 * `tyk-rwa-3`); tests/domain/plan-invariant.test.ts holds their shared case table.
 */
import type { Activity, SupportPlan } from '../types.ts';
import { dayBefore } from './calendar.ts';
import { RWA_DAYS_PER_WEEK, RWA_DURATION_MONTHS, rwaDaysPerWeekMet } from './eligibility.ts';

/** A date to the day (`YYYY-MM-DD`), as the rehabilitative work activity's bounds must be (tyk-rwa-2). */
export const RWA_BOUND_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface ActivityViolation {
  field: 'daysPerWeek' | 'period' | 'durationMonths';
  rule: 'tyk-rwa-1' | 'tyk-rwa-2' | 'tyk-rwa-3';
  reason: string;
}

/** `date` plus `months` calendar months, clamped to the month's last day (FHIRPath date arithmetic). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const total = y! * 12 + (m! - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(Math.min(d!, last)).padStart(2, '0')}`;
}

/**
 * The last day of a period of `months` calendar months from `start`: a Period's end is its last day
 * (FHIR: the end value is included), so three months from 1 April end on 30 June.
 */
export function lastDayAfterMonths(start: string, months: number): string {
  return dayBefore(addMonths(start, months));
}

/** Rehabilitative work activity (*kuntouttava työtoiminta*): 1–4 whole days a week, for 3–24 months. */
export function checkPlanActivity(a: Activity): ActivityViolation[] {
  if (a.service !== 'rehabilitative-work-activity') return [];
  const out: ActivityViolation[] = [];
  if (a.daysPerWeek === undefined || !rwaDaysPerWeekMet(a.daysPerWeek)) {
    out.push({
      field: 'daysPerWeek',
      rule: 'tyk-rwa-1',
      reason: `rehabilitative work activity is 1–4 days a week, got ${a.daysPerWeek ?? 'none'}`,
    });
  }
  if (a.period?.end === undefined && a.durationMonths !== undefined) {
    if (a.durationMonths < RWA_DURATION_MONTHS.min || a.durationMonths > RWA_DURATION_MONTHS.max)
      out.push({
        field: 'durationMonths',
        rule: 'tyk-rwa-2',
        reason: `rehabilitative work activity lasts 3–24 months, got ${a.durationMonths}`,
      });
  } else if (a.period?.end === undefined) {
    out.push({
      field: 'period',
      rule: 'tyk-rwa-2',
      reason:
        'rehabilitative work activity needs a period with start and end, or a duration in months (3–24 months)',
    });
  } else if (!RWA_BOUND_DATE.test(a.period.start) || !RWA_BOUND_DATE.test(a.period.end)) {
    // FHIRPath date arithmetic keeps a partial date's precision: 2026 + 24 months is 2028, a year.
    out.push({
      field: 'period',
      rule: 'tyk-rwa-2',
      reason: 'rehabilitative work activity runs between days: period start and end are dates to the day',
    });
  } else {
    // Same arithmetic as the invariant: start + 3 months <= end + 1 day <= start + 24 months.
    const earliest = lastDayAfterMonths(a.period.start, RWA_DURATION_MONTHS.min);
    const latest = lastDayAfterMonths(a.period.start, RWA_DURATION_MONTHS.max);
    if (a.period.end < earliest || a.period.end > latest) {
      out.push({
        field: 'period',
        rule: 'tyk-rwa-2',
        reason: `rehabilitative work activity lasts 3–24 months: end ${a.period.end} must be within ${earliest}..${latest}`,
      });
    }
  }
  return out;
}

const isRehabilitativeWork = (a: Activity) => a.service === 'rehabilitative-work-activity';

/**
 * Does `b` run on the day `a` starts? The most days at one time fall on some activity's first day,
 * so checking those days is exact. A bare duration (no dates) may run on any day, so it counts; an
 * open period runs from its start on.
 */
function runsWhenStarts(b: Activity, a: Activity): boolean {
  if (!a.period || !b.period) return true;
  if (b.period.start > a.period.start) return false;
  return b.period.end === undefined || b.period.end >= a.period.start;
}

/**
 * A client's rehabilitative work activity is 1–4 days a week in all (DOMAIN.md; Sirpa's four days are
 * two in a workshop and two in customer service): on the day each such activity starts, the days of
 * the rehabilitative work activities running — itself included — add up to 4 at most. The CarePlan
 * invariant `tyk-rwa-3` states the same on each `CarePlan.activity`.
 */
export function checkPlanActivities(
  activities: readonly Activity[],
): (ActivityViolation & { index: number })[] {
  const out: (ActivityViolation & { index: number })[] = [];
  activities.forEach((a, index) => {
    if (!isRehabilitativeWork(a)) return;
    const together = activities.filter((b) => isRehabilitativeWork(b) && runsWhenStarts(b, a));
    const days = together.reduce((sum, b) => sum + (b.daysPerWeek ?? 0), 0);
    if (days > RWA_DAYS_PER_WEEK.max)
      out.push({
        index,
        field: 'daysPerWeek',
        rule: 'tyk-rwa-3',
        reason: `rehabilitative work activity is at most ${RWA_DAYS_PER_WEEK.max} days a week in all; on the day this one starts, the activities running add up to ${days}`,
      });
  });
  return out;
}

/** A rehabilitative work activity of one of a client's plans, between the days it runs. */
interface PlanActivity {
  plan: number;
  index: number;
  activity: Activity;
  start: string;
  end: string | undefined;
}

/**
 * The plans whose activities add up: the client's active plans, each with the plans of its own
 * category. An implementation plan (*toteuttamissuunnitelma*) details the activity days its activation
 * plan agreed (DOMAIN.md; seed 002: "toteutetaan aktivointisuunnitelmaan kirjattujen … sovittujen
 * työtoiminta-aikojen … mukaisesti"), so plans of two categories state the same days, not more; a
 * draft has not begun, a completed or revoked plan no longer runs.
 */
function countedTogether(plans: readonly SupportPlan[]): Map<string, PlanActivity[]> {
  const out = new Map<string, PlanActivity[]>();
  plans.forEach((p, plan) => {
    if (p.status !== 'active') return;
    p.activities.forEach((activity, index) => {
      if (!isRehabilitativeWork(activity)) return;
      // An activity without dates runs within its plan's period.
      const { start, end } = activity.period ?? p.period;
      const group = out.get(p.category) ?? [];
      group.push({ plan, index, activity, start, end });
      out.set(p.category, group);
    });
  });
  return out;
}

/**
 * A client's rehabilitative work activity is 1–4 days a week in all, whatever plans it is written in
 * (seed 002: "asiakkaan yksilöllisen tarpeen mukaan … 1-4 päivänä viikossa"; Sirpa's four days are two
 * and two): the record-level side of `tyk-rwa-3`. On the day each such activity of an active plan
 * starts, the days of those running in the active plans of its category add up to 4 at most. What one
 * plan exceeds alone `checkPlanActivities` reports; this reports what only plans together exceed,
 * naming every activity counted (`pathOf` gives an activity's path).
 */
export function checkClientActivities(
  plans: readonly SupportPlan[],
  pathOf: (plan: number, index: number) => string,
): (ActivityViolation & { plan: number; index: number })[] {
  const out: (ActivityViolation & { plan: number; index: number })[] = [];
  for (const group of countedTogether(plans).values()) {
    for (const a of group) {
      const running = group.filter((b) => b.start <= a.start && (b.end === undefined || b.end >= a.start));
      if (running.every((b) => b.plan === a.plan)) continue;
      const own = plans[a.plan]!.activities.filter(
        (b) => isRehabilitativeWork(b) && runsWhenStarts(b, a.activity),
      );
      if (own.reduce((sum, b) => sum + (b.daysPerWeek ?? 0), 0) > RWA_DAYS_PER_WEEK.max) continue;
      const days = running.reduce((sum, b) => sum + (b.activity.daysPerWeek ?? 0), 0);
      if (days > RWA_DAYS_PER_WEEK.max)
        out.push({
          plan: a.plan,
          index: a.index,
          field: 'daysPerWeek',
          rule: 'tyk-rwa-3',
          reason: `rehabilitative work activity is at most ${RWA_DAYS_PER_WEEK.max} days a week in all, across the client's plans; on the day this one starts, the activities running add up to ${days} (${running.map((b) => pathOf(b.plan, b.index)).join(', ')})`,
        });
    }
  }
  return out;
}
