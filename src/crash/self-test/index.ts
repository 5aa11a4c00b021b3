export { runSelfTest, type SelfTestOptions } from './runner.js';
export {
  readPlants,
  parsePlants,
  selectPlants,
  cleanRuns,
  buildIsCurrent,
  plantBuildDir,
  cleanBuildDir,
  PLANTS_FILE,
  type Plant,
  type CleanRun,
} from './plants.js';
export {
  plantRow,
  cleanRow,
  selfTestExitCode,
  formatSelfTestTable,
  formatSelfTestVerdict,
  ciReport,
  type JobOutcome,
  type CheckSummary,
  type PlantRow,
  type CleanRow,
  type SelfTestRow,
} from './report.js';
