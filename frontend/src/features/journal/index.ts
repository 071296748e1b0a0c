export { JournalPage } from './components/JournalPage';
