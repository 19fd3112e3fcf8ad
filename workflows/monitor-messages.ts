/**
 * What a model's monitor (`monitor-<model>`) takes and answers: a check run now, pause, resume and
 * new settings as Updates (validated in the workflow before they enter history), a re-target signal
 * on every promotion, and a status query. The API, the promotion activity and the workflow share these.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DriftReport, MonitorSettings, MonitorSettingsPatch } from '../common/monitor-settings';
import type { MonitorAction } from '../common/vocabulary';
import type { ContinueAsNewKnob } from './continue-as-new';

export const MONITOR_WORKFLOW = 'modelMonitor';

/** What a monitor carries across continue-as-new: everything its status shows. */
export interface MonitorState {
  paused: boolean;
  /** ISO times */
  lastCheck: string | null;
  lastReportId: string | null;
  lastAction: MonitorAction | null;
  lastRetrainingAt: string | null;
  checks: number;
  /** why the last scheduled check failed (null once one succeeds); absent before failures were recorded */
  lastError?: string | null;
  failedChecks?: number;
}

export interface MonitorInput extends ContinueAsNewKnob {
  model: string;
  version: number;
  settings: MonitorSettings;
  state?: MonitorState;
}

export interface MonitorView extends MonitorState {
  model: string;
  version: number;
  state: 'watching' | 'paused';
  settings: MonitorSettings;
  nextCheck: string | null;
}

export interface RetargetInput {
  version: number;
  /** a pipeline's `monitor` field, validated by the activity that sends it */
  settings?: MonitorSettingsPatch;
}

export const monitorStatusQuery = defineQuery<MonitorView>('monitorStatus');
export const checkNowUpdate = defineUpdate<DriftReport>('checkNow');
export const pauseUpdate = defineUpdate<MonitorView>('pause');
export const resumeUpdate = defineUpdate<MonitorView>('resume');
/** a validated patch of the settings (PUT /v1/models/:name/monitor) */
export const settingsUpdate = defineUpdate<MonitorView, [MonitorSettingsPatch]>('settings');
export const retargetSignal = defineSignal<[RetargetInput]>('retarget');
/** the model has no version in production any more: the monitor ends */
export const stopSignal = defineSignal('stop');
